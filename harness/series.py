#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""series.py: the patch series against Linux 7.2 and the kernel tree, from one source.

The source is patches/series, the patches it names (subject, message, changes to upstream
files), patches/MAINTAINERS.entry and the overlay (this repository's files at kernel paths).
series.py commits the series, one commit per patch, in a small git repository that holds only
the files the series touches (WORK/repo; their upstream versions come from the linux-source
tarball and are kept in WORK/base), then:

  --sync KSRC      makes KSRC's files the series' end state plus the harness's files (those on
                   the `harness:` line): a file is written only if its content changes, and a
                   file that left the series gets its upstream version back (or goes, if new);
  --apply KSRC     writes the series' files into KSRC, a 7.2 tree of the user's, if each is
                   7.2's or the series' already (else names them and writes nothing), and
                   copies in the harness's files;
  --format OUTDIR  writes the series with `git format-patch`, with the cover letter from
                   patches/0000-cover-letter.

Both read the same commits, so the tree the harness builds is the series applied.
"""

import argparse
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ENTRY = "MAINTAINERS.entry"
COVER = "0000-cover-letter"


def die(msg):
    sys.exit(f"series.py: {msg}")


def read_series(top):
    """The patches in order, each (name, [(path, drop)]), and the harness's specs."""
    patches, harness = [], []
    with open(os.path.join(top, "patches", "series")) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("harness:"):
                harness += line[len("harness:") :].split()
                continue
            # Quotes group a spec whose TEXTs contain blanks; "#" is not a comment there.
            name, *specs = shlex.split(line)
            if not os.path.isfile(os.path.join(top, "patches", name)):
                die(f"patches/series:{n}: {name} is missing")
            patches.append((name, specs))
    return patches, harness


def resolve(spec, overlay, where):
    """The overlay files a spec names, each with the texts whose lines it drops."""
    path, *drop = spec.split("!")
    if path.endswith("/"):
        files = [f for f in overlay if f.startswith(path)]
    else:
        files = [f for f in overlay if f == path]
    if not files:
        die(f"{where}: '{path}' names no overlay file")
    if drop and path.endswith("/"):
        die(f"{where}: '{spec}': only a file can be named in part")
    return [(f, drop) for f in files]


def without(content, drop, where):
    """content without its lines that contain a TEXT of drop, and without a blank line that
    the dropping leaves next to another."""
    lines = content.decode().splitlines(True)
    kept, dropped, used = [], False, set()
    for line in lines:
        hit = [t for t in drop if t in line]
        if hit:
            used.update(hit)
            dropped = True
            continue
        if dropped and not line.strip() and kept and not kept[-1].strip():
            continue
        kept.append(line)
        dropped = False
    unused = [t for t in drop if t not in used]
    if unused:
        die(f"{where}: no line contains '{unused[0]}'")
    return "".join(kept).encode()


def upstream_files(text):
    """The upstream files a patch changes, and those it creates."""
    changed, created = set(), set()
    for old, new in re.findall(r"(?m)^--- (\S+).*\n\+\+\+ b/(\S+)", text):
        (created if old == "/dev/null" else changed).add(new)
    return changed, created


def git(repo, *args, env=None, **kw):
    return subprocess.run(["git", "-C", repo, *args], check=True, env=env, **kw)


def upstream_version(args, path):
    """The 7.2 version of path (in WORK/base, extracted if need be), or None for a file that
    7.2 does not have."""
    base = os.path.join(args.work, "base")
    if path in args.new_files:
        return None  # added by the series: the overlay's, or created by a patch
    if not os.path.isfile(os.path.join(base, path)):
        prefix = os.path.basename(args.tarball).split(".tar")[0]
        listed = subprocess.run(
            ["tar", "-tJf", args.tarball, f"{prefix}/{path}"], capture_output=True, text=True
        )
        if listed.returncode:
            return None
        base_files(args.work, args.tarball, [path])
    return os.path.join(base, path)


def base_files(work, tarball, paths):
    """Extracts the upstream versions of paths from the tarball into WORK/base, once."""
    base = os.path.join(work, "base")
    missing = sorted(p for p in paths if not os.path.isfile(os.path.join(base, p)))
    if missing:
        prefix = os.path.basename(tarball).split(".tar")[0]
        tmp = tempfile.mkdtemp(dir=work)
        subprocess.run(
            ["tar", "-xJf", tarball, "-C", tmp, "--strip-components=1"]
            + [f"{prefix}/{p}" for p in missing],
            check=True,
        )
        for p in missing:
            os.makedirs(os.path.dirname(os.path.join(base, p)), exist_ok=True)
            os.replace(os.path.join(tmp, p), os.path.join(base, p))
        shutil.rmtree(tmp)
    return base


def patch_message(text, author):
    """The subject and message of a patch of patches/, signed off by author."""
    head = text.split("\n---\n", 1)[0]
    m = re.match(r"Subject: (.*)\n\n", head)
    if not m:
        die("a patch of patches/ starts with 'Subject: ...' and an empty line")
    body = head[m.end() :].strip("\n")
    return f"{m.group(1)}\n\n{body}\n\nSigned-off-by: {author}\n"


def entry_lines(top, author):
    """The `after:` title and the lines of the series' MAINTAINERS entry."""
    path = os.path.join(top, "patches", ENTRY)
    if not os.path.isfile(path):
        return None, []
    after, lines = None, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") or not line:
                continue
            if line.startswith("after: "):
                after = line[len("after: ") :]
            else:
                lines.append(line.replace("AUTHOR", author))
    if not after or not lines:
        die(f"patches/{ENTRY} needs an 'after:' line and an entry")
    return after, lines


def matches(pattern, path):
    if pattern.endswith("/"):
        return path.startswith(pattern)
    return fnmatch.fnmatchcase(path, pattern)


def update_entry(repo, after, lines, files):
    """Puts the entry, with the F: lines whose files exist, into repo's MAINTAINERS."""
    path = os.path.join(repo, "MAINTAINERS")
    with open(path) as f:
        text = f.read().split("\n")
    title = lines[0]
    if title in text:  # the previous patch's entry, with its blank line
        i = text.index(title)
        j = text.index("", i)
        del text[i : j + 1]
    kept = [
        l for l in lines if not l.startswith("F:\t") or any(matches(l[3:], p) for p in files)
    ]
    if any(l.startswith("F:\t") for l in kept):
        if after not in text:
            die(f"MAINTAINERS has no entry '{after}'")
        j = text.index("", text.index(after))
        text[j + 1 : j + 1] = kept + [""]
    with open(path, "w") as f:
        f.write("\n".join(text))


def build(args):
    top, work = args.top, args.work
    with open(args.overlay) as f:
        overlay = [l.strip() for l in f if l.strip()]
    patches, harness_specs = read_series(top)

    # Every overlay file is named whole once; a file named in part is completed later.
    whole, harness = {}, []
    for name, specs in patches:
        for spec in specs:
            for path, drop in resolve(spec, overlay, f"patches/series: {name}"):
                if path in whole:
                    die(f"{path} is already added whole by {whole[path]}")
                if not drop:
                    whole[path] = name
    for spec in harness_specs:
        for path, _ in resolve(spec, overlay, "patches/series: harness"):
            if path in whole:
                die(f"{path} is in the series ({whole[path]}) and on the harness line")
            harness.append(path)
    left = sorted(set(overlay) - set(whole) - set(harness))
    if left:
        die("overlay files in no patch of patches/series: " + " ".join(left))

    texts = {name: open(os.path.join(top, "patches", name)).read() for name, _ in patches}
    changed, created = set(), set()
    for text in texts.values():
        c, n = upstream_files(text)
        changed |= c
        created |= n
    after, lines = entry_lines(top, args.author)
    if lines:
        changed.add("MAINTAINERS")
    base = base_files(work, args.tarball, changed - created)

    m = re.match(r"(.*?) <(.*)>$", args.author)
    if not m:
        die(f"the author is 'Name <address>', not '{args.author}'")
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME=m.group(1),
        GIT_AUTHOR_EMAIL=m.group(2),
        GIT_COMMITTER_NAME=m.group(1),
        GIT_COMMITTER_EMAIL=m.group(2),
        GIT_AUTHOR_DATE=args.date,
        GIT_COMMITTER_DATE=args.date,
    )
    repo = os.path.join(work, "repo")
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(base, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Linux 7.2: the files the series changes", env=env)
    git(repo, "tag", "base")

    have = set(changed - created)
    args.new_files = set(whole) | created
    for name, specs in patches:
        text = texts[name]
        if re.search(r"(?m)^\+\+\+ ", text):
            r = subprocess.run(
                ["patch", "-d", repo, "-p1", "-s", "-f", "--no-backup-if-mismatch"],
                input=text,
                text=True,
                capture_output=True,
            )
            if r.returncode:
                die(f"patches/{name} does not apply:\n{r.stdout}{r.stderr}")
        added = []
        for spec in specs:
            for path, drop in resolve(spec, overlay, name):
                src = os.path.join(top, path)
                if os.path.islink(src) or not os.path.isfile(src):
                    die(f"{path}: the overlay holds regular files only")
                with open(src, "rb") as f:
                    content = f.read()
                if drop:
                    content = without(content, drop, f"patches/series: {name}: {path}")
                write_if_changed(os.path.join(repo, path), content, os.stat(src).st_mode & 0o777)
                if path not in have:
                    added.append(path)
                have.add(path)
        made = upstream_files(text)[1] - have
        have |= made
        if lines:
            update_entry(repo, after, lines, have)
            # Each overlay file the series adds is covered by an F: line the series adds; a
            # file a patch of patches/ creates (a helper), by any entry.
            with open(os.path.join(repo, "MAINTAINERS")) as f:
                every = re.findall(r"(?m)^F:\t(\S+)", f.read())
            diff = git(repo, "diff", "base", "--", "MAINTAINERS", capture_output=True, text=True)
            ours = re.findall(r"(?m)^\+F:\t(\S+)", diff.stdout)
            for path, patterns, which in [(p, ours, "the series adds") for p in added] + [
                (p, every, "of MAINTAINERS") for p in sorted(made)
            ]:
                if not any(matches(p, path) for p in patterns):
                    die(f"{name} adds {path}, which no F: line {which} covers")
        git(repo, "add", "-A")
        if not git(repo, "status", "--porcelain", capture_output=True, text=True).stdout:
            die(f"patches/{name} changes nothing")
        git(repo, "commit", "-q", "-F", "-", input=patch_message(text, args.author), text=True, env=env)
    return repo, harness


def sync(args, repo, harness):
    """Makes KSRC's files the series' end state; the harness's files are copied as they are."""
    ksrc, top = args.sync, args.top
    files = git(repo, "ls-files", capture_output=True, text=True).stdout.split()
    want = {p: os.path.join(repo, p) for p in files}
    want.update({p: os.path.join(top, p) for p in harness})
    manifest = os.path.join(ksrc, ".dmabuf-rs-files")
    old = set(open(manifest).read().split()) if os.path.isfile(manifest) else set()
    written = 0
    for p in sorted(old - set(want)):
        dst = os.path.join(ksrc, p)
        orig = upstream_version(args, p)
        if orig:
            shutil.copyfile(orig, dst)
        elif os.path.exists(dst):
            os.remove(dst)
        written += 1
    for p, src in sorted(want.items()):
        written += copy_if_changed(src, os.path.join(ksrc, p))
    with open(manifest, "w") as f:
        f.write("\n".join(sorted(want)) + "\n")
    # What the configuration depends on: a series that changes a Kconfig file reconfigures.
    kconfig = git(repo, "ls-tree", "-r", "HEAD", capture_output=True, text=True).stdout
    kconfig = "".join(l + "\n" for l in kconfig.splitlines() if "/Kconfig" in l or "\tKconfig" in l)
    write_if_changed(os.path.join(ksrc, ".dmabuf-rs-kconfig"), kconfig.encode())
    if written:
        print(f"{written} file(s) of the series updated in {ksrc}")


def write_if_changed(path, content, mode=None):
    """Writes content to path unless it holds it already (so that its timestamp stays), and
    gives it mode (the permission bits of a file it is copied from). True if it wrote."""
    same = False
    if os.path.isfile(path):
        with open(path, "rb") as f:
            same = f.read() == content
    if not same:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
    if mode is not None and os.stat(path).st_mode & 0o777 != mode:
        os.chmod(path, mode)
    return not same


def copy_if_changed(src, dst):
    with open(src, "rb") as f:
        return write_if_changed(dst, f.read(), os.stat(src).st_mode & 0o777)


def apply(args, repo, harness):
    """Puts the series into a 7.2 tree of the user's: each file the series touches must be
    7.2's (it gets the series' version) or the series' already; any other version (an edited
    file, an older series) is named and nothing is written."""
    ksrc = args.apply
    files = git(repo, "ls-files", capture_output=True, text=True).stdout.split()
    todo, foreign = [], []
    for p in files:
        with open(os.path.join(repo, p), "rb") as f:
            end = f.read()
        dst = os.path.join(ksrc, p)
        have = open(dst, "rb").read() if os.path.isfile(dst) else None
        if have == end:
            continue
        orig = upstream_version(args, p)
        pristine = open(orig, "rb").read() if orig else None
        if have != pristine:
            foreign.append(p)
        todo.append(p)
    if foreign:
        die(
            f"{ksrc}: these files are neither Linux 7.2's nor the series' (edited, or an "
            "older series): restore them to 7.2 (git checkout v7.2 -- FILE) and run again:\n  "
            + "\n  ".join(foreign)
        )
    for p in todo:
        copy_if_changed(os.path.join(repo, p), os.path.join(ksrc, p))
    if todo:
        print(f"{len(todo)} file(s) of the series written into {ksrc}")
    for p in harness:
        copy_if_changed(os.path.join(args.top, p), os.path.join(ksrc, p))


def format_series(args, repo):
    out = args.format
    shutil.rmtree(out, ignore_errors=True)
    git(repo, "format-patch", "-q", "--cover-letter", "-o", out, "base..HEAD")
    cover = os.path.join(args.top, "patches", COVER)
    letter = next(os.path.join(out, f) for f in sorted(os.listdir(out)) if f.startswith("0000-"))
    with open(cover) as f:
        subject, _, blurb = f.read().partition("\n\n")
    if not subject.startswith("Subject: "):
        die(f"patches/{COVER} starts with 'Subject: ...' and an empty line")
    with open(letter) as f:
        text = f.read()
    text = text.replace("*** SUBJECT HERE ***", subject[len("Subject: ") :])
    text = text.replace("*** BLURB HERE ***", blurb.strip("\n"))
    with open(letter, "w") as f:
        f.write(text)
    print(f"{len(os.listdir(out)) - 1} patches and a cover letter in {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", required=True, help="this repository")
    ap.add_argument("--work", required=True, help="a folder of its own for the series")
    ap.add_argument("--tarball", required=True, help="linux-source-7.2.tar.xz")
    ap.add_argument("--overlay", required=True, help="a file listing the overlay's files")
    ap.add_argument("--author", required=True, help="'Name <address>': From and Signed-off-by")
    ap.add_argument("--date", required=True, help="the date of the commits")
    ap.add_argument("--sync", metavar="KSRC")
    ap.add_argument("--apply", metavar="KSRC")
    ap.add_argument("--format", metavar="OUTDIR")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    repo, harness = build(args)
    if args.sync:
        sync(args, repo, harness)
    if args.apply:
        apply(args, repo, harness)
    if args.format:
        format_series(args, repo)


if __name__ == "__main__":
    main()
