#!/usr/bin/env bash
# Create the project's virtual environment from the committed lock file.
#
# Rasa 3.6.21 and rasa-sdk 3.6.2 declare Python <3.11 but run on 3.11: they are installed with
# --no-deps --ignore-requires-python and every dependency comes pinned from requirements/lock.txt.
# Does nothing when the environment already matches the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}

ver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$ver" in
  3.8|3.9|3.10|3.11) ;;
  *) echo "install: Python $ver is not supported: Rasa 3.6 and TensorFlow 2.12 need Python 3.8-3.11 (run with PYTHON=python3.11)" >&2
     exit 1 ;;
esac

stamp="$VENV/.installed-$(cat requirements/lock.txt scripts/install.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi
echo "install: creating $VENV with Python $ver from requirements/lock.txt (first run takes a few minutes)"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "setuptools==80.9.0" wheel
"$VENV/bin/pip" install --quiet --disable-pip-version-check --progress-bar off -r requirements/lock.txt
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --ignore-requires-python \
  rasa==3.6.21 rasa-sdk==3.6.2
# `faqbot ask "question"` for staff and scripts (scripts/ask.py), runnable from anywhere.
root=$(pwd)
venv_abs=$(cd "$VENV" && pwd)
cat > "$VENV/bin/faqbot" <<WRAPPER
#!/usr/bin/env bash
export PYTHONPATH="$root\${PYTHONPATH:+:\$PYTHONPATH}" HF_HUB_OFFLINE=1 RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
cd "$root" && exec "$venv_abs/bin/python" -m scripts.ask "\$@"
WRAPPER
chmod +x "$VENV/bin/faqbot"
rm -f "$VENV"/.installed-*
touch "$stamp"
echo "install: done"
