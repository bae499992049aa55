/* fault-shim.h: allocation and I/O failures on demand, for the fault tests of the engine and
 * training layers (tests/fault/test-fault-engine.c, test-fault-synth.c).
 *
 * fault-shim.c is linked into the test executable with -Wl,--wrap=SYMBOL for each function it
 * wraps (fault_shim_link_args in tests/fault/meson.build), so every call that the code under
 * test (libmim, libmimtrain, libmimica-app: static libraries linked into the same executable)
 * makes to malloc, write, rename... goes through the shim first, then to the C library. Calls
 * made inside shared libraries (libc's own stdio buffers, GLib, libjpeg) are not seen.
 *
 * Once armed, the shim counts "points" and fails the Nth and every later one, as a full disk or
 * an exhausted heap does:
 *   FAULT_ALLOC   points: malloc, calloc, realloc, strdup, aligned_alloc, mmap; a failing one
 *                 returns NULL (MAP_FAILED) with errno ENOMEM
 *   FAULT_ENOSPC  points: calls on files under the armed folder: creating one for writing (fopen
 *                 "w"/"a"/"+", mkstemp), write, fwrite, fflush, fsync, close, fclose, and rename
 *                 onto a path in the folder; a failing one returns its error value with errno
 *                 ENOSPC (close and fclose really close the file first)
 *   FAULT_EIO     the same points, errno EIO
 *   FAULT_SHORT   the same points; the first failing write writes half its bytes and returns
 *                 that count (a short write, no error), an fwrite writes half and fails ENOSPC
 *                 (glibc's stdio retries a partial write, so that is what its callers see);
 *                 every later point fails ENOSPC
 * An fsync of a followed file that does not fail does nothing (the test needs no durability,
 * and syncing every temporary file makes it slow).
 * Directory handles (the folder fsync after a rename) are not points: a file is only followed
 * from its creation under the armed folder. Single-threaded: arm, run one operation, disarm.
 */
#pragma once

typedef enum { FAULT_OFF, FAULT_ALLOC, FAULT_ENOSPC, FAULT_EIO, FAULT_SHORT } fault_mode;

/* "alloc", "enospc", "eio", "short". */
const char *fault_mode_name(fault_mode mode);

/* Starts counting points of mode; fails point `at` (1-based) and every later one, or none when
 * at <= 0 (a counting run). dir: the folder whose files are I/O points (I/O modes only). */
void fault_arm(fault_mode mode, long at, const char *dir);
/* Stops; returns the points seen while armed. */
long fault_disarm(void);
/* Points failed since the last fault_arm. */
long fault_n_failed(void);
