#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""compile_fail_reason.py CASE.rs BUILD.log: did a compile-fail case fail for its stated reason?

A case states its reason in its header and marks the line that must fail:

    // expect: E0502: cannot borrow `attach` as immutable because it is also borrowed as mutable
    ...
    let _mapping = attach.map_unlocked(DataDirection::ToDevice)?; // ~ERROR

It failed for that reason if rustc reported an error with that code whose message starts with
that text at a marked line of the case, and no other error anywhere else, with a code or
without (a lint denied, a macro's own error): an error at another line or of another kind
means the case is broken (a renamed method, a missing import), not that the misuse is
refused. rustc's closing summary ("aborting due to ...") is not an error of its own. Prints one line, "ok: ..." or "not ok: ...", and exits 0 or 1.
"""

import re
import sys

ERROR = re.compile(r"^error(?:\[(E\d{4})\])?: (.*)$")
SUMMARY = re.compile(r"^(aborting due to|could not compile)")
WHERE = re.compile(r"^\s*--> (?:.*/)?([^/\s]+):(\d+):\d+")


def main():
    case, log = sys.argv[1], sys.argv[2]
    source = open(case, encoding="utf-8").read().splitlines()
    m = next((re.match(r"^// expect: (E\d{4}): (.+)$", l) for l in source if l.startswith("// expect:")), None)
    if not m:
        print("not ok: no '// expect: CODE: message' line")
        return 1
    code, message = m.group(1), m.group(2).strip()
    marked = {i + 1 for i, l in enumerate(source) if l.rstrip().endswith("// ~ERROR")}
    if not marked:
        print("not ok: no line marked '// ~ERROR'")
        return 1
    errors, pending = [], None
    for line in open(log, encoding="utf-8", errors="replace"):
        e = ERROR.match(line)
        if e and not SUMMARY.match(e.group(2)):
            if pending:
                errors.append((*pending, "?", 0))
            pending = (e.group(1) or "(no code)", e.group(2))
            continue
        w = WHERE.match(line)
        if w and pending:
            errors.append((*pending, w.group(1), int(w.group(2))))
            pending = None
    if pending:
        errors.append((*pending, "?", 0))
    if not errors:
        print(f"not ok: no rustc error; must fail with {code}")
        return 1
    stray = [e for e in errors if e[2] != "case.rs" or e[3] not in marked]
    if stray:
        c, msg, f, n = stray[0]
        print(f"not ok: error {c} at {f}:{n}, not at a marked line: {msg}")
        return 1
    if not any(c == code and msg.startswith(message) for c, msg, _, _ in errors):
        c, msg, _, n = errors[0]
        print(f"not ok: fails with {c} at line {n} ({msg}), must fail with {code}: {message}")
        return 1
    lines = ", ".join(str(n) for n in sorted({e[3] for e in errors}))
    print(f"ok: fails with {code} at line {lines}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
