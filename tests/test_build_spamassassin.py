"""The SpamAssassin build script keeps subject + decoded body and drops every other header."""
import importlib.util
import io
import tarfile
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "build_spamassassin", Path(__file__).resolve().parent.parent / "data" / "build_spamassassin.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)

SPAM = b"""From spammer@example.com  Thu Aug 22 13:17:22 2002
Received: from mail.example.com (1.2.3.4)
X-Spam-Status: Yes, hits=12.3
Subject: =?iso-8859-1?q?Cheap_caf=E9_loans?=
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head><style>p {color: red}</style></head><body><p>Buy now =E0 50% off!</p><br>Click here</body></html>
"""
HAM = b"""From friend@example.org  Fri Aug 23 10:00:00 2002
Received: from list.example.org
List-Id: <exmh-users.example.org>
Subject: Re: meeting
Content-Type: multipart/alternative; boundary="XX"

--XX
Content-Type: text/plain; charset=us-ascii

See you at 10.
--XX
Content-Type: text/html

<p>See you at 10.</p>
--XX--
"""


def test_email_to_text_keeps_only_subject_and_decoded_body():
    text = build.email_to_text(SPAM)
    assert text.startswith("Cheap café loans\n\n")
    assert "Buy now à 50% off!" in text and "Click here" in text
    for leaked in ("Received", "X-Spam", "spammer@", "<p>", "color: red"):
        assert leaked not in text
    ham = build.email_to_text(HAM)
    assert ham == "Re: meeting\n\nSee you at 10."  # the plain part wins over the HTML twin
    assert "List-Id" not in ham


def _tarball(tmp_path, files):
    path = tmp_path / "pkg.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in files.items():
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def test_build_deduplicates_splits_and_is_byte_reproducible(tmp_path):
    files = {f"spam-1/{i:05d}.{i:032x}.txt": SPAM.replace(b"Click here", f"offer {i}".encode()) for i in range(20)}
    files |= {f"easy-ham-1/{i:05d}.{i + 100:032x}.txt": HAM.replace(b"10.", f"{i}.".encode()) for i in range(40)}
    files["easy-ham-2/00099.ffffffffffffffffffffffffffffffff.txt"] = HAM.replace(b"10.", b"0.")  # duplicate of ham 0
    tgz = _tarball(tmp_path, files)
    records = build.build_records(tgz)
    assert len(records) == 60 and len({r["text"] for r in records}) == 60
    assert {r["split"] for r in records} == {"train", "validation", "test"}
    assert sum(r["label"] for r in records) == 20
    build.write_jsonl_gz(records, tmp_path / "a.jsonl.gz")
    build.write_jsonl_gz(build.build_records(tgz), tmp_path / "b.jsonl.gz")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
