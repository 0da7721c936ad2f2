#!/usr/bin/env bash
# Writes patches/NNNN-*.patch back from deps/llama.cpp, where the build records each patch as one
# commit on top of the bundle's commit (cmake/llama-source.cmake). To change a patch: edit the
# files in deps/llama.cpp, fold the edit into that patch's commit (`git commit --amend` for the
# newest one, `git commit --fixup` + `git rebase --autosquash` for older ones, or a new commit
# named NNNN-topic.patch for a new patch), then run this script and rebuild.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root/deps/llama.cpp"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "deps/llama.cpp has uncommitted changes; commit them into a patch commit first" >&2
  exit 1
fi
base="$(git bundle list-heads "$root/node_modules/node-llama-cpp/llama/gitRelease.bundle" | head -1 | cut -d' ' -f1)"
for commit in $(git rev-list --reverse "$base..HEAD"); do
  name="$(git log -1 --format=%s "$commit")"
  case "$name" in
    [0-9][0-9][0-9][0-9]-*.patch) git diff "$commit~1" "$commit" > "$root/patches/$name"; echo "wrote patches/$name" ;;
    *) echo "commit $commit ($name) is not named NNNN-topic.patch" >&2; exit 1 ;;
  esac
done
# The tree is now exactly the bundle's commit with patches/ applied: record the stamp that
# cmake/llama-source.cmake computes for that (the commit, then ";name=sha256" per patch in order),
# so the next build does not reset and re-apply every patch, which would touch every patched file
# (a full CUDA rebuild when a patch edits ggml-cuda/common.cuh).
input="$base"
for patch in $(ls "$root"/patches/*.patch | LC_ALL=C sort); do
  input="$input;$(basename "$patch")=$(sha256sum "$patch" | cut -d' ' -f1)"
done
printf '%s' "$input" | sha256sum | cut -d' ' -f1 | tr -d '\n' > .lora-gguf-source-stamp
echo "stamped deps/llama.cpp as prepared"
