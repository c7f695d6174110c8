#!/usr/bin/env bash
# Downloads the four MNIST files again (or sets up Fashion-MNIST) and verifies their checksums.
#
#   data/fetch_mnist.sh                  MNIST into data/mnist/ (skips files whose sum is right)
#   data/fetch_mnist.sh --fashion        Fashion-MNIST into data/fashion-mnist/
#   data/fetch_mnist.sh --check          only verify what is there; exit 1 when anything is wrong
#   data/fetch_mnist.sh --dest DIR       put the files in DIR instead
#   data/fetch_mnist.sh --force          download even files whose sum is right
#   MNIST_MIRROR=URL data/fetch_mnist.sh try URL (e.g. a local mirror) before the official ones
#
# Each file goes to a temporary name first and is moved into place only once its checksum
# matches, so an interrupted or failed download never leaves a partial file behind.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kind=mnist
dest=""
check_only=0
force=0

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "fetch_mnist.sh: error: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --fashion|--fashion-mnist) kind=fashion-mnist ;;
    --mnist) kind=mnist ;;
    --dest) [[ $# -ge 2 ]] || die "--dest needs a folder"; dest="$2"; shift ;;
    --dest=*) dest="${1#--dest=}" ;;
    --check) check_only=1 ;;
    --force) force=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
[[ -n "$dest" ]] || dest="$here/$kind"

files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

# MNIST: the official files (also in data/mnist/SHA256SUMS, which this script recreates if lost).
mnist_sums="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz"
mnist_mirrors=(
  "https://ossci-datasets.s3.amazonaws.com/mnist"          # PyTorch's (torchvision's) mirror
  "https://storage.googleapis.com/cvdf-datasets/mnist"      # TensorFlow's mirror
  "http://yann.lecun.com/exdb/mnist"                        # the original home, often refuses now
)

# Fashion-MNIST: Zalando's files (upstream MD5s, from its README) or Debian's repackaged copies
# (package dataset-fashion-mnist, same content re-gzipped, so different sums). Either is accepted.
fashion_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d  train-images-idx3-ubyte.gz
25c81989df183df01b3e8a0aad5dffbe  train-labels-idx1-ubyte.gz
bef4ecab320f06d8554ea6380940ec79  t10k-images-idx3-ubyte.gz
bb300cfdad3c16e7a12a480ee83cd310  t10k-labels-idx1-ubyte.gz"
fashion_debian_sha256="b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7  train-images-idx3-ubyte.gz
0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056  train-labels-idx1-ubyte.gz
cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa  t10k-images-idx3-ubyte.gz
8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05  t10k-labels-idx1-ubyte.gz"
fashion_mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com")
fashion_debian_dir=/usr/share/datasets/fashion-mnist
if [[ -n "${MNIST_MIRROR:-}" ]]; then
  mnist_mirrors=("${MNIST_MIRROR%/}" "${mnist_mirrors[@]}")
  fashion_mirrors=("${MNIST_MIRROR%/}" "${fashion_mirrors[@]}")
fi

sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null; then shasum -a 256 "$1" | cut -d' ' -f1
  else die "neither sha256sum nor shasum is installed (Debian: coreutils)"; fi
}
md5_of() {
  if command -v md5sum >/dev/null; then md5sum "$1" | cut -d' ' -f1
  elif command -v md5 >/dev/null; then md5 -q "$1"
  else echo none; fi
}
# The expected sum of file $2 in the "sum  name" list $1.
sum_in() { awk -v name="$2" '$2 == name { print $1 }' <<<"$1"; }

# True when `path` (stored under the name `name`) has the right checksum.
verified() {
  local path="$1" name="$2"
  [[ -f "$path" ]] || return 1
  if [[ "$kind" == mnist ]]; then
    [[ "$(sha256_of "$path")" == "$(sum_in "$expected_sums" "$name")" ]]
  else
    [[ "$(sha256_of "$path")" == "$(sum_in "$fashion_debian_sha256" "$name")" ]] ||
      [[ "$(md5_of "$path")" == "$(sum_in "$fashion_md5" "$name")" ]]
  fi
}

download() {  # url output
  if command -v curl >/dev/null; then
    curl --fail --location --silent --show-error --retry 2 --connect-timeout 20 --output "$2" "$1"
  elif command -v wget >/dev/null; then
    wget --quiet --tries=3 --timeout=20 --output-document="$2" "$1"
  else
    die "neither curl nor wget is installed (Debian: apt-get install curl)"
  fi
}

temporaries=()
cleanup() { [[ ${#temporaries[@]} -eq 0 ]] || rm -rf "${temporaries[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Moves the verified candidate `tmp` into place as `name`, or discards it.
install_if_verified() {  # tmp name source
  local tmp="$1" name="$2" source="$3"
  if verified "$tmp" "$name"; then
    chmod 644 "$tmp"  # mktemp made it private; the data is not
    mv -f "$tmp" "$dest/$name"
    echo "  ok   $name  (from $source, checksum verified)"
    return 0
  fi
  rm -f "$tmp"
  echo "  bad checksum for $name from $source: discarded" >&2
  return 1
}

if [[ "$kind" == mnist ]]; then
  expected_sums="$mnist_sums"
  if [[ -f "$dest/SHA256SUMS" ]] && [[ "$(sort "$dest/SHA256SUMS")" != "$(sort <<<"$mnist_sums")" ]]; then
    die "$dest/SHA256SUMS differs from the official sums this script knows; restore it from git"
  fi
fi

echo "${kind}: $dest"
missing=()
for name in "${files[@]}"; do
  if [[ $force -eq 0 ]] && verified "$dest/$name" "$name"; then
    echo "  ok   $name"
  else
    [[ -f "$dest/$name" ]] && echo "  bad  $name (checksum does not match)" || echo "  --   $name (missing)"
    missing+=("$name")
  fi
done
if [[ $check_only -eq 1 ]]; then
  again="$0"
  [[ "$kind" == mnist ]] || again+=" --fashion"
  [[ ${#missing[@]} -eq 0 ]] || die "${#missing[@]} file(s) missing or damaged; run $again to fetch them"
  exit 0
fi
[[ ${#missing[@]} -gt 0 ]] || { echo "all four files present and verified"; exit 0; }

mkdir -p "$dest" || die "cannot create $dest"
[[ -w "$dest" ]] || die "cannot write to $dest"
if [[ "$kind" == mnist && ! -f "$dest/SHA256SUMS" ]]; then
  printf '%s\n' "$mnist_sums" >"$dest/SHA256SUMS"
fi

# Fashion-MNIST, first choice: Debian's dataset-fashion-mnist, installed or just downloaded.
debian_dir=""
debian_label=""
if [[ "$kind" == fashion-mnist ]]; then
  if [[ -d "$fashion_debian_dir" ]]; then
    debian_dir="$fashion_debian_dir"
    debian_label="$fashion_debian_dir (installed package dataset-fashion-mnist)"
  elif command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
    unpack="$(mktemp -d "${TMPDIR:-/tmp}/fashion-mnist.XXXXXX")"
    temporaries+=("$unpack")
    echo "  fetching Debian's dataset-fashion-mnist package (no installation)..."
    if (cd "$unpack" && apt-get download dataset-fashion-mnist >/dev/null 2>&1) &&
       dpkg-deb -x "$unpack"/dataset-fashion-mnist_*.deb "$unpack/root"; then
      debian_dir="$unpack/root$fashion_debian_dir"
      debian_label="Debian's dataset-fashion-mnist package"
    else
      echo "  (apt-get download dataset-fashion-mnist failed; trying Zalando's server)" >&2
    fi
  fi
fi

failed=()
for name in "${missing[@]}"; do
  # A temporary name in the destination folder itself, so the final mv is atomic.
  tmp="$(mktemp "$dest/.$name.XXXXXX")"
  temporaries+=("$tmp")
  done_one=0
  if [[ -n "$debian_dir" && -f "$debian_dir/$name" ]]; then
    cp "$debian_dir/$name" "$tmp" && install_if_verified "$tmp" "$name" "$debian_label" && done_one=1
  fi
  if [[ $done_one -eq 0 ]]; then
    if [[ "$kind" == mnist ]]; then mirrors=("${mnist_mirrors[@]}"); else mirrors=("${fashion_mirrors[@]}"); fi
    for mirror in "${mirrors[@]}"; do
      echo "  downloading $mirror/$name"
      if download "$mirror/$name" "$tmp"; then
        install_if_verified "$tmp" "$name" "$mirror" && { done_one=1; break; }
      else
        echo "  download from $mirror failed" >&2
      fi
    done
  fi
  rm -f "$tmp"
  [[ $done_one -eq 1 ]] || failed+=("$name")
done

if [[ ${#failed[@]} -gt 0 ]]; then
  die "could not fetch ${failed[*]}: no source answered with the right file. Check your network
(or proxy), or download the files by hand into $dest/ and run '$0 --check'."
fi
echo "all four files present and verified"
