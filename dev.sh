#!/usr/bin/env bash
# One entry point for readers and CI.
#   bash dev.sh book [--serve]   set up .venv, build the book strictly into _build/html
#                                (--serve: then serve it on http://localhost:8000)
#   bash dev.sh test             set up .venv, lint, run every test and every notebook
set -euo pipefail
cd "$(dirname "$0")"

setup() {
  if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
  fi
  # Reinstall only when the pins or the package metadata changed.
  local stamp=.venv/.rhmlib-installed
  local want
  want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements.txt
    .venv/bin/python -m pip install --quiet --no-deps -e .
    echo "$want" > "$stamp"
  fi
}

# The book's networks are small: one thread per process is as fast, and does not
# collapse when the machine is shared (a busy 2-core box made 2 threads 15x slower).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

case "${1:-}" in
  book)
    setup
    # -W: any Sphinx warning fails; --all: rebuild every page so nothing is skipped.
    .venv/bin/jupyter-book build . --all -W --keep-going
    if [ "${2:-}" = "--serve" ]; then
      echo "serving on http://localhost:8000 (Ctrl-C to stop)"
      .venv/bin/python -m http.server --directory _build/html 8000
    fi
    ;;
  test)
    setup
    # tests/test_browser.py opens every page in Debian's Chromium (or $CHROMIUM).
    if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
      else
        echo "the browser test needs Chromium: apt-get install chromium, or set CHROMIUM" >&2
      fi
    fi
    .venv/bin/ruff check rhmlib tests benchmarks
    .venv/bin/python -m pytest --nbval-lax tests book
    ;;
  *)
    echo "usage: bash dev.sh book [--serve] | bash dev.sh test" >&2
    exit 2
    ;;
esac
