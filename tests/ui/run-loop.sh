#!/bin/sh
# run-loop.sh: runs test-loop.py under Xvfb with a private D-Bus session (the AT-SPI bus is
# started by D-Bus activation inside it). Needs xvfb, dbus and Debian's python3-pyatspi.
for p in xvfb-run dbus-run-session; do
    command -v $p >/dev/null 2>&1 || { echo "1..0 # SKIP $p is not installed"; exit 0; }
done
# python3-pyatspi is Debian's: use the system interpreter, not one earlier on PATH
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export MIMICA_TEST_OUT="${MIMICA_BUILD_DIR}/meson-logs/ui-loop"
# -a with a start number of our own: parallel runs (other test suites) race less for :99
exec xvfb-run -a -n $((100 + $$ % 800)) -s "-screen 0 1400x1000x24" dbus-run-session -- \
    $PY "$(dirname "$0")/test-loop.py" 2>"${MIMICA_BUILD_DIR}/meson-logs/ui-loop.stderr"
