"""Summarise py-spy's collapsed stacks (`--format raw`): where the sampled time goes, by own and total time.

    python -m bench.profile_summary /tmp/serve.txt [--top 30] [--match preclinical]
"""

from __future__ import annotations

import argparse
import collections
import re

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def frame_name(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/preclinical/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def main(path: str, top: int, match: str | None) -> None:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = idle = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            n = int(count)
            frames = [frame_name(x) for x in stack.split(";") if x]
            samples += n
            if frames and frames[-1].startswith(("select (", "poll (", "_run_once (")) and len(frames) < 6:
                idle += n
            if frames:
                own[frames[-1]] += n
            for name in set(frames):
                total[name] += n
    print(f"{samples} samples, {idle} ({idle / samples:.0%}) idle in the event loop's select")
    print(f"\nby own time (top {top}):")
    for name, n in own.most_common(top):
        print(f"{n / samples:6.1%}  {name}")
    print(f"\nby total time{f' (frames matching {match!r})' if match else ''} (top {top}):")
    shown = 0
    for name, n in total.most_common():
        if match and match not in name:
            continue
        print(f"{n / samples:6.1%}  {name}")
        shown += 1
        if shown == top:
            break


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match")
    args = parser.parse_args()
    main(args.path, args.top, args.match)
