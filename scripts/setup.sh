#!/usr/bin/env bash
# Installs every build and run-time dependency of morphfit from Debian 12 packages.
# Idempotent: packages already present are left alone. Run as root (or with sudo available).
# Nothing is downloaded at build or run time beyond these packages.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libeigen3-dev          # linear algebra (header-only)
  libceres-dev           # nonlinear least squares (fitting)
  libopencv-dev          # images, drawing, cascades
  opencv-data            # Haar cascades used as fallback face detectors
  libdlib-dev            # HOG face detector + 68-point shape predictor
  libdlib-data           # /usr/share/dlib/shape_predictor_68_face_landmarks.dat
  libjpeg-dev libpng-dev # dlib's CMake config links libjpeg.so and libpng.so by path
  libhdf5-dev            # .h5 models, fits.h5, synthetic shards
  libdeflate-dev         # fast deflate of synthetic-set chunks (zlib format, HDF5's filter)
  libisal-dev            # ISA-L igzip: faster still, the default synthetic-set chunk compressor
  libmatio-dev           # MATLAB .mat (v5 / v7 compressed / v7.3)
  nlohmann-json3-dev     # JSON for FaceParams and reports
  libgflags-dev libgoogle-glog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python-matplotlib-data # public-domain demo portrait (grace_hopper.jpg)
  libblas-dev liblapack-dev
)

say() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    say "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; fi
fi

say "installing ${#missing[@]} missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
say "done"
