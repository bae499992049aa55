#!/usr/bin/python3
"""test-loop.py: the real `mimica` driven through AT-SPI on the demo project.

Run by meson (suite ui) as: xvfb-run dbus-run-session -- python3 test-loop.py. Makes the demo
project with scripts/demo-project (data/demo/mimica-demo.mp4 analysed with the geometry model,
labels by "demo"), opens it in mimica, finds controls by their accessible names ("Play", "Pause",
"Step Back", "Step Forward", per AU "AU 12 Lip Corner Puller", "Fine-tune", "Keep"), plays, steps
both ways, rebinds "One frame forward" in Preferences > Keyboard (a key in use is refused; the new
key steps, the old one does not; Reset), labels a range with the keyboard, undoes an edit,
fine-tunes (quick; the project has no network analysis, so from an untrained network), reads the
before/after F1 in the dialog, keeps the new model and waits for the video's re-analysis with it,
reads the sidebar's Annotators and Models and switches the view between the geometry model's
analysis and the kept model's; then reads the project with
sqlite3 and checks the label events, the kept model (parent, decision, its done analysis, the
window showing its AUs) and the frame-clock tick log (no frame skipped or shown out of order at
1x). Screenshots of the main states (the fine-tune dialog too) go to the log folder
(MIMICA_TEST_OUT). TAP output; exit 77 = skip."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

OUT = os.environ.get("MIMICA_TEST_OUT", "/tmp/mimica-ui-test")
n_test = 0
failed = 0


def tap(ok, what, detail=""):
    global n_test, failed
    n_test += 1
    if not ok:
        failed += 1
    detail = str(detail).replace("\n", " ") if detail else ""  # one TAP line
    print(("ok" if ok else "not ok"), n_test, "-", what, ("# " + detail) if detail else "")
    sys.stdout.flush()


def diag(text):
    for line in str(text).splitlines():
        print("#", line)
    sys.stdout.flush()


try:
    import pyatspi
except ImportError:
    print("1..0 # SKIP python3-pyatspi is not installed")
    sys.exit(0)

SRC = os.environ["MIMICA_SOURCE_DIR"]
PROGRAM = os.environ["MIMICA_PROGRAM"]
CLI = os.environ["MIMICA_CLI"]
BUILD = os.environ["MIMICA_BUILD_DIR"]
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    if f.endswith((".png", ".csv", ".log")) or ".mimica" in f:
        path = os.path.join(OUT, f)
        shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
project = os.path.join(OUT, "demo.mimica")
ticks = os.path.join(OUT, "ticks.log")

t0 = time.time()
r = subprocess.run([os.path.join(SRC, "scripts/demo-project"), BUILD, project], cwd=SRC,
                   capture_output=True, text=True)
tap(r.returncode == 0, "scripts/demo-project makes the demo project",
    "%.1f s" % (time.time() - t0))
if r.returncode != 0:
    diag(r.stderr)
    print("1..%d" % n_test)
    sys.exit(1)

env = dict(os.environ)
env.update({
    "GSETTINGS_SCHEMA_DIR": os.path.join(BUILD, "data"),
    "GSETTINGS_BACKEND": "memory",
    "GSK_RENDERER": "cairo",
    "GTK_A11Y": "atspi",
    "MIMICA_TICK_LOG": ticks,
    "MIMICA_SCREENSHOT_DIR": OUT,
})
env.pop("NO_AT_BRIDGE", None)
log_path = os.path.join(OUT, "mimica-stderr.log")


def start_mimica():
    """Starts mimica; a display that is not ready yet ("cannot open display", seen when the
    machine is busy) gets a few more tries."""
    for attempt in range(5):
        log = open(log_path, "w")
        proc = subprocess.Popen([PROGRAM, "--annotator", "tester", project], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            proc.wait(1.5)
        except subprocess.TimeoutExpired:
            return proc, log
        log.close()
        with open(log_path) as f:
            diag("mimica exited at start (try %d): %s" % (attempt + 1, f.read()[-300:]))
        time.sleep(1.0)
    return proc, open(log_path, "a")


proc, log = start_mimica()


def find_app(timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        desktop = pyatspi.Registry.getDesktop(0)
        for app in desktop:
            if app is not None and app.name == "mimica":
                return app
        time.sleep(0.2)
    return None


def find(root, name, role=None, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        found = pyatspi.findDescendant(
            root, lambda a: a is not None and (name(a.name) if callable(name) else a.name == name)
            and (role is None or a.getRoleName() == role))
        if found:
            return found
        time.sleep(0.2)
    return None


def click(acc):
    """Activates a button; GtkButton shows the press for 250 ms and ignores activations meanwhile."""
    action = acc.queryAction()
    index = 0
    for i in range(action.nActions):
        if action.getName(i) in ("click", "activate", "press"):
            index = i
    action.doAction(index)
    time.sleep(0.35)


CTRL, SHIFT = 4, 1


def key(keysym, mods=0, pause=0.08):
    if mods:
        pyatspi.Registry.generateKeyboardEvent(mods, None, pyatspi.KEY_LOCKMODIFIERS)
    pyatspi.Registry.generateKeyboardEvent(keysym, None, pyatspi.KEY_SYM)
    if mods:
        pyatspi.Registry.generateKeyboardEvent(mods, None, pyatspi.KEY_UNLOCKMODIFIERS)
    time.sleep(pause)


def frame_no(frame_label):
    text = frame_label.name  # a label's accessible name is its text: "frame N/M"
    try:
        return int(text.split()[-1].split("/")[0])
    except (ValueError, IndexError):
        return -1


def wait_frame(frame_label, want, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        if frame_no(frame_label) == want:
            return True
        time.sleep(0.05)
    return False


def shot(what):
    before = set(os.listdir(OUT))
    key(0xffc9)  # F12: the window saves mimica-NN.png under MIMICA_SCREENSHOT_DIR
    end = time.time() + 5
    while time.time() < end:
        new = [f for f in set(os.listdir(OUT)) - before if f.endswith(".png")]
        if new:
            time.sleep(0.2)
            dst = os.path.join(OUT, "%s.png" % what)
            os.rename(os.path.join(OUT, new[0]), dst)
            diag("screenshot %s" % dst)
            return True
    return False


events_before, figures = None, []
try:
    app = find_app()
    tap(app is not None, "mimica is on the AT-SPI bus")
    if app is None:
        raise SystemExit
    play = find(app, "Play", "push button")
    tap(play is not None, "a button named Play")
    frame_label = find(app, lambda n: n.startswith("frame "), "label")
    tap(frame_label is not None and wait_frame(frame_label, 0), "frame 0 shown",
        frame_label and frame_label.name)
    au12 = find(app, "AU 12 Lip Corner Puller")
    tap(au12 is not None, "an AU row named 'AU 12 Lip Corner Puller'",
        au12 and au12.getRoleName())
    for name in ("Step Back", "Step Forward", "Fine-tune", "Add Video", "Analyse"):
        tap(find(app, name, timeout=2) is not None, "a control named %r" % name)
    # the keyboard goes to the window under the pointer (Xvfb has no window manager)
    pyatspi.Registry.generateMouseEvent(400, 300, "abs")
    time.sleep(0.5)
    shot("01-opened")

    # play 3 s at 1x while the video is analysed again on the engine thread, pause
    click(find(app, "Analyse", "push button"))
    click(play)
    time.sleep(3.0)
    pause = find(app, "Pause", "push button", timeout=2)
    tap(pause is not None, "playing: the button is named Pause")
    if pause:
        click(pause)
    time.sleep(0.3)
    played_to = frame_no(frame_label)
    tap(50 <= played_to <= 90, "3 s at 25 frames/s reach frame 75", "frame %d" % played_to)
    shot("02-played")
    analysed = find(app, "mimica-demo.mp4, ✓", "list item", timeout=30)
    tap(analysed is not None, "the analysis finished and the sidebar says so")

    # step: buttons and keys, both ways
    step_fwd = find(app, "Step Forward", "push button")
    step_back = find(app, "Step Back", "push button")
    click(step_fwd)
    tap(wait_frame(frame_label, played_to + 1), "Step Forward: +1", frame_label.name)
    click(step_back)
    click(step_back)
    tap(wait_frame(frame_label, played_to - 1), "Step Back twice: -2", frame_label.name)
    key(0xff53, SHIFT)  # Shift+Right: +10
    tap(wait_frame(frame_label, played_to + 9), "Shift+Right: +10", frame_label.name)
    for _ in range(5):
        key(0xff51)  # Left
    tap(wait_frame(frame_label, played_to + 4), "Left x5: -5", frame_label.name)
    key(0xff51, SHIFT)
    key(0xff51, SHIFT)
    key(0xff51, SHIFT)
    tap(wait_frame(frame_label, played_to - 26), "Shift+Left x3: -30 (back through the ring)",
        frame_label.name)

    # key bindings: Preferences > Keyboard gives "One frame forward" the key "." (a key in use
    # is refused with a message); the new key steps, the old one (Right) no longer does; Reset
    # gives Right back
    def open_keyboard_page():
        key(ord(","), CTRL)  # Ctrl+comma: Preferences
        prefs = find(app, "Preferences", "frame", timeout=5)
        if prefs is None:
            return None
        find(prefs, "Keyboard", "page tab", timeout=3)
        # the switcher is there twice (header and bottom bar): press each
        for tab in pyatspi.findAllDescendants(
                prefs, lambda a: a is not None and a.name == "Keyboard" and
                a.getRoleName() == "page tab"):
            click(tab)
        return prefs

    def close_prefs(prefs):
        pyatspi.Registry.generateMouseEvent(100, 80, "abs")  # the window at 0,0 gets the keys
        time.sleep(0.3)
        key(0xff1b)  # Escape closes the preferences
        time.sleep(0.3)
        if find(app, "Preferences", "frame", timeout=0.5) is not None:
            close = find(prefs, "Close", "push button", timeout=1)
            if close is not None:
                click(close)
        pyatspi.Registry.generateMouseEvent(400, 300, "abs")
        time.sleep(0.5)

    FWD_NAME = "Shortcut for \u201cOne frame forward\u201d"
    at = frame_no(frame_label)
    prefs = open_keyboard_page()
    change = find(prefs, FWD_NAME, "push button", timeout=5) if prefs else None
    tap(change is not None, "Preferences has a Keyboard page with %r" % FWD_NAME,
        change and change.description)
    refused = saved = None
    if change is not None:
        click(change)
        capture = find(app, "Set Shortcut", timeout=5)
        pyatspi.Registry.generateMouseEvent(100, 80, "abs")  # the dialog (at 0,0) gets the keys
        time.sleep(0.5)
        key(0xff51)  # Left: in use by "One frame back"
        time.sleep(0.3)
        refused = find(app, lambda n: "already used" in n, timeout=3)
        refused = refused.name if refused is not None else None  # the dialog goes away
        key(ord("."))
        time.sleep(0.5)
        saved = find(prefs, lambda n: n.startswith("Shortcut for \u201cOne frame forward"),
                     "push button", timeout=2)
        saved = saved.description if saved is not None else None
        shot("keys-preferences")
        close_prefs(prefs)
    tap(refused is not None, "a key in use is refused with a message", refused or "")
    tap(saved == ".", "the new key is shown in Preferences", repr(saved))
    key(0xff53)  # Right: no longer bound
    time.sleep(0.5)
    tap(frame_no(frame_label) == at, "the old key (Right) does nothing now", frame_label.name)
    key(ord("."))
    tap(wait_frame(frame_label, at + 1), "the new key (.) steps one frame forward",
        frame_label.name)
    prefs = open_keyboard_page()
    reset = find(prefs, "Reset \u201cOne frame forward\u201d", "push button", timeout=5) \
        if prefs else None
    if reset is not None:
        click(reset)
        close_prefs(prefs)
    key(0xff53)
    tap(reset is not None and wait_frame(frame_label, at + 2), "Reset: Right steps again",
        frame_label.name)

    # shuttle: J plays backwards at 1x, L L forwards at 2x, K pauses
    at = frame_no(frame_label)
    key(ord("j"))
    time.sleep(1.0)
    key(ord("k"))
    time.sleep(0.3)
    back = frame_no(frame_label)
    tap(at - 35 <= back <= at - 15, "J: 1 s backwards at 1x", "frame %d -> %d" % (at, back))
    key(ord("l"))
    key(ord("l"))
    time.sleep(1.0)
    key(ord("k"))
    time.sleep(0.3)
    fwd = frame_no(frame_label)
    tap(back + 35 <= fwd <= back + 65, "L L: 1 s forwards at 2x", "frame %d -> %d" % (back, fwd))

    # label a range with the keyboard: I at 100, O at 119, 7 = the 7th AU of the panel (AU 12)
    key(ord("g"), CTRL)
    time.sleep(0.5)
    for ch in "100":
        key(ord(ch))
    key(0xff0d)  # Return: go
    tap(wait_frame(frame_label, 100), "Ctrl+G 100: frame 100", frame_label.name)
    key(ord("i"))
    key(0xff53, SHIFT)
    key(0xff53, SHIFT)
    key(0xff51)
    tap(wait_frame(frame_label, 119), "at frame 119", frame_label.name)
    key(ord("o"))
    key(ord("7"))
    time.sleep(0.3)
    shot("03-labelled-range")
    # a second edit on one frame, undone with Ctrl+Z
    key(0xff1b)  # Escape: no range
    key(ord("1"))
    time.sleep(0.2)
    key(ord("z"), CTRL)
    time.sleep(0.5)
    shot("04-undone")

    # fine-tune (quick): the dialog with the before/after F1, Keep, the re-analysis with the model
    db = sqlite3.connect("file:%s?mode=ro" % project, uri=True)
    events_before = db.execute("SELECT * FROM label_events ORDER BY id").fetchall()
    db.close()
    t_ft = time.time()
    click(find(app, "Fine-tune", "push button"))
    dialog = find(app, "Fine-tune", "frame", timeout=90)
    ft_seconds = time.time() - t_ft
    summary = None
    if dialog is not None:
        summary = find(dialog, lambda n: n.startswith("Mean F1"), "label", timeout=5)
    tap(summary is not None, "the fine-tune dialog opens with the F1 before and after",
        "%.1f s: %s" % (ft_seconds, summary.name if summary is not None else "no dialog"))
    if summary is not None:
        words = summary.name.replace(",", " ").split()
        figures = [float(w) for w in words if w.replace(".", "", 1).isdigit()]
    note = keep = None
    if dialog is not None:
        note = find(dialog, lambda n: "untrained network" in n, "label", timeout=2)
        keep = find(dialog, "Keep", "push button", timeout=2)
    tap(note is not None, "the dialog says it started from an untrained network",
        note.name if note is not None else "")
    if dialog is not None:
        pyatspi.Registry.generateMouseEvent(300, 200, "abs")  # the dialog (at 0,0) gets the keys
        time.sleep(0.3)
        shot("05-fine-tune-dialog")
    tap(keep is not None, "a button named Keep")
    t_keep = time.time()
    if keep is not None:
        click(keep)
    # the re-analysis with the kept model: poll the store until it is done, then the window
    kept_id, state = None, None
    end = time.time() + 90
    while time.time() < end:
        db = sqlite3.connect("file:%s?mode=ro" % project, uri=True)
        try:
            row = db.execute(
                "SELECT m.id, a.state FROM models m LEFT JOIN analyses a ON a.model_id = m.id"
                " WHERE m.parent_id IS NOT NULL ORDER BY m.id DESC LIMIT 1").fetchone()
        except sqlite3.OperationalError:
            row = None
        db.close()
        if row:
            kept_id, state = row
        if state == "done":
            break
        time.sleep(0.5)
    tap(state == "done", "Keep: the video is analysed again with the new model",
        "model %s, %.1f s" % (kept_id, time.time() - t_keep))
    # the window shows the new model: its AUs only (the geometry model's AU 45 leaves the panel)
    end = time.time() + 10
    while time.time() < end and find(app, lambda n: n.startswith("AU 45 "), timeout=0.5):
        time.sleep(0.3)
    tap(find(app, lambda n: n.startswith("AU 45 "), timeout=0.5) is None and
        find(app, "AU 12 Lip Corner Puller", timeout=2) is not None,
        "after Keep the window shows the new model's AUs (AU 12 kept, AU 45 gone)")
    pyatspi.Registry.generateMouseEvent(400, 300, "abs")
    time.sleep(0.3)
    shot("06-after-keep")

    # the sidebar: annotators with their label counts; models with parent, decision and mean F1;
    # choosing the geometry model shows its analysis again (AU 45 back), the kept one hides it
    annot = find(app, lambda n: n.startswith("tester, "), "list item", timeout=3)
    tap(annot is not None and annot.name == "tester, 1 label",
        "Annotators: tester with 1 label (the range; the second edit was undone)",
        annot and annot.name)
    models = find(app, "Models", "list", timeout=3)
    rows = [c.name for c in models] if models is not None else []
    diag("Models: %r" % rows)
    kept_i = [i for i, n in enumerate(rows) if ", from untrained" in n and ", kept, mean F1 " in n]
    geo_i = [i for i, n in enumerate(rows) if n == "geometry, kept"]
    tap(len(kept_i) == 1 and len(geo_i) == 1,
        "Models: the fine-tuned one (parent, kept, mean F1) and the geometry model")
    if kept_i and geo_i:
        models.querySelection().selectChild(geo_i[0])
        au45 = find(app, lambda n: n.startswith("AU 45 "), timeout=5)
        tap(au45 is not None, "choosing the geometry model shows its analysis (AU 45 back)")
        shot("07-geometry-model")
        models.querySelection().selectChild(kept_i[0])
        end = time.time() + 5
        while time.time() < end and find(app, lambda n: n.startswith("AU 45 "), timeout=0.3):
            time.sleep(0.2)
        tap(find(app, lambda n: n.startswith("AU 45 "), timeout=0.3) is None,
            "choosing the kept model again shows its analysis (AU 45 gone)")

    # review queue and agreement open in windows of their own (last: they take the keyboard)
    click(find(app, "Review Queue", "push button"))
    queue = find(app, "Review Queue", "list", timeout=10)
    n_rows = queue.childCount if queue else 0
    first_row = queue[0].name if n_rows else ""
    tap(n_rows > 10, "the review queue lists frames", "%d rows, first %r" % (n_rows, first_row))
    click(find(app, "Agreement", "push button"))
    agreement = find(app, "Agreement", "frame", timeout=10)
    tap(agreement is not None, "the agreement window opens")
finally:
    key(ord("q"), CTRL)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(5)
    log.close()

tap(proc.returncode == 0, "mimica quit cleanly", "status %s" % proc.returncode)
with open(os.path.join(OUT, "mimica-stderr.log")) as f:
    diag(f.read()[-2000:])

db = sqlite3.connect(project)
rows = db.execute(
    "SELECT e.id, e.kind, e.au, e.frame_start, e.frame_end, e.value, a.name, e.target"
    " FROM label_events e JOIN annotators a ON a.id = e.annotator_id WHERE a.name = 'tester'"
    " ORDER BY e.id").fetchall()
diag("label_events: %r" % (rows,))
sets = [r for r in rows if r[1] == "set"]
tap(len(sets) == 2, "two edits stored", "%d" % len(sets))
tap(len(sets) >= 1 and sets[0][2:7] == (12, 100, 119, "present", "tester"),
    "AU 12 present on frames 100-119 by 'tester'", sets and repr(sets[0]))
tap(len(sets) >= 2 and sets[1][2:7] == (1, 119, 119, "present", "tester"),
    "AU 1 present on frame 119", len(sets) > 1 and repr(sets[1]))
undos = [r for r in rows if r[1] == "undo"]
tap(len(undos) == 1 and len(sets) >= 2 and undos[0][7] == sets[1][0],
    "Ctrl+Z stored an undo event of the second edit")
current = db.execute("SELECT l.au, l.frame_start, l.frame_end, l.value FROM labels_current l"
                     " JOIN annotators a ON a.id = l.annotator_id WHERE a.name = 'tester'").fetchall()
tap(current == [(12, 100, 119, "present")], "labels_current holds the range only", repr(current))

# the fine-tune: a kept model with its parent (the untrained start), its analysis done, labels
# untouched by fine-tuning and keeping
models = db.execute("SELECT id, name, parent_id, aus, metrics FROM models ORDER BY id").fetchall()
for m in models:
    diag("model %r" % (m[:4],))
tuned = [m for m in models if m[2] is not None]
metrics = json.loads(tuned[-1][4]) if tuned else {}
tap(len(tuned) == 1 and metrics.get("decision") == "kept", "one fine-tuned model, kept",
    tuned and "model %d, parent %d" % (tuned[-1][0], tuned[-1][2]))
parent = [m for m in models if tuned and m[0] == tuned[-1][2]]
tap(len(parent) == 1 and json.loads(parent[0][4]).get("start") == "untrained",
    "its parent is the untrained start", parent and parent[0][1])
if metrics:
    diag("held-out mean F1 %.3f -> %.3f on %d frames (%d trained); per AU before %r after %r" % (
        metrics["mean_f1_before"], metrics["mean_f1_after"], metrics["n_heldout"],
        metrics["n_train"], metrics["f1_before"], metrics["f1_after"]))
tap(bool(metrics) and len(figures) >= 2 and
    abs(figures[0] - metrics["mean_f1_before"]) < 6e-4 and
    abs(figures[1] - metrics["mean_f1_after"]) < 6e-4,
    "the dialog showed the stored mean F1 before and after", repr(figures[:2]))
analysis = tuned and db.execute(
    "SELECT state, n_frames FROM analyses WHERE video_id = 1 AND model_id = ?",
    (tuned[-1][0],)).fetchone()
tap(bool(analysis) and analysis[0] == "done", "an analysis of the video by the kept model, done",
    repr(analysis))
events_after = db.execute("SELECT * FROM label_events ORDER BY id").fetchall()
tap(events_after == events_before, "label events unchanged by fine-tune and Keep",
    "%d events" % len(events_after))

# frame clock: at 1x every tick shows the frame whose time has come, none skipped
ok = os.path.exists(ticks)
tap(ok, "tick log written")
if ok:
    rows = [tuple(map(int, l.split())) for l in open(ticks) if not l.startswith("#")]
    # the first run at 1x (the 3 s played while the analysis ran); the shuttle comes later
    pairs = []
    for t, f, speed in rows:
        if speed != 1000:
            break
        pairs.append((t, f))
    frames = [f for _, f in pairs]
    jumps = [b - a for a, b in zip(frames, frames[1:])]
    bad = [j for j in jumps if j not in (0, 1)]
    tap(len(pairs) > 30 and not bad, "at 1x each tick shows the same or the next frame",
        "%d ticks, frames %d..%d, bad steps %r" % (len(pairs), frames[0], frames[-1], bad[:5]))
    # when each frame first appears vs its time (25 frames/s), from the first shown frame
    first = {}
    for t, f in pairs:
        first.setdefault(f, t)
    fs = sorted(first)
    if len(fs) > 10:
        t_base, f_base = first[fs[0]], fs[0]
        late = [(first[f] - t_base) / 1e3 - (f - f_base) * 40.0 for f in fs]
        diag("frame lateness ms: min %.1f max %.1f" % (min(late), max(late)))
        tap(max(late) - min(late) < 120, "frames shown on time (lateness spread < 120 ms)",
            "%.1f ms" % (max(late) - min(late)))
print("1..%d" % n_test)
sys.exit(1 if failed else 0)
