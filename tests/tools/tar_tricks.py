#!/usr/bin/env python3
"""tar_tricks.py SAVED.tar OUTDIR VICTIM - archives for userdocker load.

SAVED.tar is a `docker save` of the attacker's own image.  For each trick
below, OUTDIR/<trick>.tar holds the same image with a manifest.json that
names VICTIM (e.g. local/busybox:latest), hidden in a way where tar or JSON
readers disagree (Go's archive/tar and encoding/json, as dockerd reads,
against a naive reader).  OUTDIR/plain.tar is the image rebuilt without
tricks, under its own name: it must load; so must OUTDIR/gzip-name.tar
(its first entry's name starts with gzip's magic bytes), while
OUTDIR/legacy.tar (no manifest.json) must be refused.
"""
import json
import os
import sys
import tarfile

saved, outdir, victim = sys.argv[1:4]

src = tarfile.open(saved)
members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
files = {m.name: d for m, d in members}
manifest = json.loads(files["manifest.json"])
evil = json.dumps([dict(manifest[0], RepoTags=[victim])]).encode()
END = b"\0" * 1024


def pad(data):
    return data + b"\0" * ((512 - len(data) % 512) % 512)


def header(name, data=b"", typ=tarfile.REGTYPE, fmt=tarfile.USTAR_FORMAT):
    ti = tarfile.TarInfo(name)
    ti.type = typ
    ti.size = len(data)
    return bytearray(ti.tobuf(fmt, "utf-8", "surrogateescape"))


def resum(h):
    h[148:156] = b" " * 8
    h[148:154] = b"%06o" % sum(h)
    h[154:156] = b"\0 "
    return bytes(h)


def entry(name, data, **kw):
    return bytes(header(name, data, **kw)) + pad(data)


body = b"".join(
    m.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape") + (pad(d) if d else b"")
    for m, d in members if m.name not in ("manifest.json", "repositories"))
tricks = {}

# A directory header that claims data: Go reads none, so the "data" is
# the next header, an evil manifest.json.
h = header("d/", typ=tarfile.DIRTYPE)
h[124:136] = b"%011o\0" % 1024
tricks["dir-with-data"] = body + resum(h) + entry("manifest.json", evil) + END

# GNU magic with bytes in the ustar prefix field: Go ignores them.
h = header("manifest.json", evil, fmt=tarfile.GNU_FORMAT)
h[345] = ord("1")
tricks["gnu-prefix"] = body + resum(h) + pad(evil) + END

# A GNU long name and a later pax path: Go takes the long name.
ln = b"manifest.json\0"
pax = b"22 path=harmless.json\n"
tricks["longname-then-pax"] = (body + entry("././@LongLink", ln, typ=tarfile.GNUTYPE_LONGNAME,
                                            fmt=tarfile.GNU_FORMAT)
                               + entry("PaxHeader", pax, typ=tarfile.XHDTYPE) + entry("foo", evil) + END)

# Two pax headers: the second replaces the first for Go.
c = b"14 comment=hi\n"
tricks["two-pax"] = (body + entry("PaxHeader", pax, typ=tarfile.XHDTYPE)
                     + entry("PaxHeader", c, typ=tarfile.XHDTYPE) + entry("manifest.json", evil) + END)

# A key docker's JSON decoder matches case-insensitively.
lower = json.dumps([{"Config": manifest[0]["Config"], "repotags": [victim],
                     "Layers": manifest[0]["Layers"]}]).encode()
tricks["lowercase-key"] = body + entry("manifest.json", lower) + END

# Two manifest.json entries: the later one wins on disk.
tricks["second-manifest"] = (body + entry("manifest.json", files["manifest.json"])
                             + entry("./manifest.json", evil) + END)

# Not tricks but must-nots, under the image's own name (both must load, or
# be refused, on their own merits):
# - legacy.tar, without manifest.json: docker's legacy loader reads names
#   and parents from files no one checks; refused.
# - gzip-name.tar, whose first entry is named with gzip's magic bytes:
#   docker decides from the first bytes it reads whether to decompress, so
#   those must never be the archive's own; it loads.
legacy = body + END
gz = b"\x1f\x8b\x08\x04AAAA\x02\x03\x01\x02\0"
gzip_name = (entry("././@LongLink", gz, typ=tarfile.GNUTYPE_LONGNAME, fmt=tarfile.GNU_FORMAT)
             + entry("ignored", b"x\n") + body + entry("manifest.json", files["manifest.json"]) + END)

os.makedirs(outdir, exist_ok=True)
with open(os.path.join(outdir, "legacy.tar"), "wb") as f:
    f.write(legacy)
with open(os.path.join(outdir, "gzip-name.tar"), "wb") as f:
    f.write(gzip_name)
for name, data in tricks.items():
    with open(os.path.join(outdir, name + ".tar"), "wb") as f:
        f.write(data)
with open(os.path.join(outdir, "plain.tar"), "wb") as f:
    f.write(body + entry("manifest.json", files["manifest.json"]) + END)
print(" ".join(sorted(tricks)))
