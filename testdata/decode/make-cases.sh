#!/bin/sh
# make-cases.sh - regenerate the decode golden cases' input archives from
# testdata/corpus (real review texts), deterministically.
#
# usage: testdata/decode/make-cases.sh      (then: make golden-update, review)
#
# Every platform shape (schemas/platforms/*.map) in every container and
# format, plus the bad inputs.  Needs python3, gzip, zstd, xz, bzip2.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/decode-cases.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export here top tmp

python3 - <<'EOF'
import gzip, io, json, os, random, struct, tarfile, zipfile

top, here, tmp = os.environ["top"], os.environ["here"], os.environ["tmp"]
MTIME = 1793700000  # fixed, so archives are byte-for-byte reproducible

def corpus(lang, n, skip=0):
    rows = []
    with gzip.open(f"{top}/testdata/corpus/reviews.{lang}.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            r = json.loads(line)
            if 20 <= len(r["text"]) <= 300:
                rows.append(r)
            if len(rows) == n:
                break
    return rows

# ---- a tiny msgpack writer (maps, arrays, str, int, float, bool, nil) ----
def mp(v):
    if v is None: return b"\xc0"
    if v is True: return b"\xc3"
    if v is False: return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128: return bytes([v])
        if 0 <= v < 2**32: return b"\xce" + struct.pack(">I", v)
        if 0 <= v: return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float): return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32: return bytes([0xa0 | len(b)]) + b
        if len(b) < 256: return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, dict):
        out = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xde" + struct.pack(">H", len(v))
        for k, x in v.items(): out += mp(k) + mp(x)
        return out
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    raise TypeError(v)

def csv_field(s, delim=","):
    if any(c in s for c in (delim, '"', "\n", "\r")):
        return '"' + s.replace('"', '""') + '"'
    return s

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

# ---- one entry per platform shape ----------------------------------------
def khamsat(rows, k0=0):
    out = []
    for i, r in enumerate(rows):
        k = k0 + i
        out.append(json.dumps({
            "review_id": 81230 + k,
            "order": {"id": f"KH-{5520 + k}"},
            "service": {"id": 17 + k, "title": "تصميم شعار احترافي"},
            "buyer": {"username": f"buyer_{k}", "country": "SA"},
            "seller": {"username": f"designer_{k % 3}", "level": 2},
            "recommended": (r.get("label") != "neg"),
            "comment": r["text"],
            "created_at": f"2026-11-0{1 + k % 9}T10:{10 + k:02d}:30+03:00",
        }, ensure_ascii=False) + "\n")
    return "".join(out).encode()

def fiverr(rows, delim=",", crlf=False, bom=False, k0=0):
    eol = "\r\n" if crlf else "\n"
    hdr = ["Order ID", "Gig Title", "Buyer", "Seller", "Rating", "Review", "Review Date"]
    out = [delim.join(hdr) + eol]
    for i, r in enumerate(rows):
        k = k0 + i
        stars = [4.7, 3.2, 5.0, 1.4, 2.6][k % 5]
        f = [f"FO{91000 + k}", "I will design a modern logo, fast", f"client{k}",
             f"gigmaker{k % 4}", f"{stars}", r["text"], f"{MONTHS[k % 12]} {1 + k % 28}, 2026"]
        out.append(delim.join(csv_field(x, delim) for x in f) + eol)
    s = "".join(out)
    return (b"\xef\xbb\xbf" if bom else b"") + s.encode()

def tenpoint(rows, k0=0):
    out = []
    for i, r in enumerate(rows):
        k = k0 + i
        out.append(json.dumps({
            "review_uuid": f"5f0c{k:04d}-aa11-4c2d-9e1f-tp", "author": f"user{k}",
            "merchant": f"shop{k % 5}", "listing": "Ремонт ноутбука",
            "score": 1 + (k * 3) % 10, "headline": r["text"].split(".")[0][:40],
            "body": r["text"], "posted_at": f"2026-10-{10 + k % 20}T08:{k % 60:02d}:00Z",
        }, ensure_ascii=False) + "\n")
    return "".join(out).encode()

def percent(rows, k0=0):
    els = []
    for i, r in enumerate(rows):
        k = k0 + i
        els.append({
            "reviewId": f"P-{7000 + k}", "customer": {"name": f"πελάτης{k}"},
            "shop": {"name": f"kiosk{k % 3}"}, "product": {"name": "Ακουστικά"},
            "orderRef": f"ORD{k:05d}", "satisfaction": [100, 80, 45, 0, 67][k % 5],
            "content": r["text"], "timestamp": 1793700000000 + k * 3600000,
        })
    return ("[\n" + ",\n".join("  " + json.dumps(e, ensure_ascii=False) for e in els) + "\n]\n").encode()

def generic(rows, k0=0):
    out = b""
    for i, r in enumerate(rows):
        k = k0 + i
        out += mp({"id": f"g-{k}", "seller": f"s{k % 2}", "buyer": f"b{k}",
                   "rating": [5, 4, 1, None, 3][k % 5], "created_at": 1793700000 + k,
                   "text": r["text"], "lang": r.get("lang", "")})
    return out

AR, EN, RU, EL, FA, KK, TR = (corpus(l, 12) for l in ("ar", "en", "ru", "el", "fa", "kk", "tr"))

def entries(k0=0):
    """The six formats x platform shapes, two records each."""
    s = k0 % 10
    return [
        ("khamsat.jsonl", khamsat(AR[s:s + 2], k0)),
        ("fiverr.csv", fiverr(EN[s:s + 2], k0=k0)),
        ("fiverr.tsv", fiverr(TR[s:s + 2], delim="\t", k0=k0)),
        ("tenpoint.jsonl", tenpoint(RU[s:s + 1] + KK[s:s + 1], k0)),
        ("percent.json", percent(EL[s:s + 2], k0)),
        ("generic.msgpack", generic(FA[s:s + 2], k0)),
    ]

def case(name, files, args=None, cmd=None):
    d = f"{here}/{name}"
    os.makedirs(d, exist_ok=True)
    for fn, data in files.items():
        with open(f"{d}/{fn}", "wb") as f:
            f.write(data)
    if args is not None:
        with open(f"{d}/args", "w") as f:
            f.write(args + "\n")
    if cmd is not None:
        with open(f"{d}/cmd", "w") as f:
            f.write(cmd)
    # golden.sh needs expect.jsonl (or cmd) to list the case.
    if cmd is None and not os.path.exists(f"{d}/expect.jsonl"):
        open(f"{d}/expect.jsonl", "w").close()

def tar_bytes(ents, mode=""):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for fn, data in ents:
            ti = tarfile.TarInfo(fn)
            ti.size, ti.mtime, ti.mode = len(data), MTIME, 0o644
            ti.uname = ti.gname = "revpipe"
            t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()

def zip_bytes(ents):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        for fn, data in ents:
            zi = zipfile.ZipInfo(fn, date_time=(2026, 11, 3, 10, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return bio.getvalue()

def run(cmd, data):
    import subprocess
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout

def gz(b): return gzip.compress(b, 9, mtime=0)
def zst(b): return run(["zstd", "-q", "-19", "-c"], b)
def xz(b): return run(["xz", "-q", "-c"], b)
def bz2(b): return run(["bzip2", "-q", "-c"], b)

# ---- every container x format ----------------------------------------------
tar = tar_bytes(entries(0))
case("tar", {"in.tar": tar}, "in.tar")
case("tar-gz", {"in.tar.gz": gz(tar_bytes(entries(1)))}, "in.tar.gz")
case("tgz", {"in.tgz": gz(tar_bytes(entries(2)))}, "in.tgz")
case("tar-zst", {"in.tar.zst": zst(tar_bytes(entries(3)))}, "in.tar.zst")
case("tar-xz", {"in.tar.xz": xz(tar_bytes(entries(4)))}, "in.tar.xz")
case("tar-bz2", {"in.tar.bz2": bz2(tar_bytes(entries(5)))}, "in.tar.bz2")
case("zip", {"in.zip": zip_bytes(entries(6))}, "in.zip")
for ext, fn in (("gz", gz), ("zst", zst), ("xz", xz), ("bz2", bz2), ("plain", None)):
    ents = entries({"gz": 7, "zst": 8, "xz": 9, "bz2": 10, "plain": 11}[ext])
    files = {}
    for n, data in ents:
        files[n + ("" if fn is None else "." + ext)] = data if fn is None else fn(data)
    case(ext, files, " ".join(sorted(files)))

# ---- nesting, stdin, forcing -------------------------------------------------
e = entries(12)
case("nested-zip-of-gz", {"in.zip": zip_bytes([(n + ".gz", gz(d)) for n, d in e[:3]])}, "in.zip")
e = entries(13)
case("nested-tar-of-compressed", {"in.tar": tar_bytes(
    [(e[1][0] + ".gz", gz(e[1][1])), (e[3][0] + ".zst", zst(e[3][1])),
     (e[4][0] + ".xz", xz(e[4][1])), ("inner.zip", zip_bytes(e[5:6]))])}, "in.tar")
case("nested-too-deep", {"in.tar.gz": gz(tar_bytes(
    [("outer.zip", zip_bytes([("deeper.jsonl.gz", gz(tenpoint(RU[:1])))]))]))}, "in.tar.gz")
case("stdin", {"in.jsonl.gz": gz(khamsat(AR[3:5]))},
     cmd='"$REVPIPE" decode -f - <in.jsonl.gz | "$REVPIPE" cat\n')
# No review_uuid: detection finds nothing, --platform says what it is.
case("force-platform", {"r.jsonl": b"".join(json.dumps({"score": 2 + 4 * i, "body": r["text"],
    "posted_at": "2026-11-03T10:00:00Z"}, ensure_ascii=False).encode() + b"\n" for i, r in enumerate(RU[4:6]))},
    "--platform tenpoint r.jsonl")
case("csv-quirks", {"in.csv": fiverr(EN[5:8], crlf=True, bom=True) +
    b'FO1,"Logo, ""fast""",c,s,4.2,"line one\r\nline two, with comma",Mar 9 2026\r\n'
    b'\r\nFO2,x,c,s,,"",\r\n'}, "in.csv")

# ---- bad inputs --------------------------------------------------------------
g = gz(tenpoint(RU[:12] + KK[:12]))
# How many records come out before the cut depends on the inflater's block
# size (zlib via libarchive, or ISA-L): pin the reason and the exit only.
case("truncated-gz", {"in.jsonl.gz": g[:len(g) * 6 // 10]}, cmd=
     '"$REVPIPE" decode -f --rejects rej.mp in.jsonl.gz >out.mp 2>err; echo "exit $?"\n'
     '"$REVPIPE" cat rej.mp | grep -o \'"reason":"[a-z_]*","src":"[^"]*","offset":0,"detail":"[^"]*"\'\n'
     'grep -c "truncated gzip input" err\n')
g = gz(tenpoint(corpus("ru", 400, 100)))
case("truncated-gz-midway", {"in.jsonl.gz": g[:len(g) * 7 // 10]}, cmd=
     '"$REVPIPE" decode -f --rejects rej.mp in.jsonl.gz >out.mp; echo "exit $?"\n'
     'n=$("$REVPIPE" cat out.mp | wc -l); [ "$n" -gt 100 ] && [ "$n" -lt 400 ] && echo "records before the cut: kept"\n'
     '"$REVPIPE" cat rej.mp | grep -o \'"reason":"[a-z_]*"\'\n')
z = bytearray(zip_bytes([("fiverr.csv", fiverr(EN[:12]))]))
mid = len(z) // 3
z[mid:mid + 40] = b"\x00" * 40
case("corrupt-zip", {"in.zip": bytes(z)}, "in.zip")
case("not-a-zip", {"in.zip": b"this is not a zip archive at all\n"}, "in.zip")
case("gzip-bomb-blank-lines", {"bomb.jsonl.gz": gz(b"\n" * (12 << 20))}, "bomb.jsonl.gz")
case("gzip-bomb-one-line", {"bomb.jsonl.gz": gz(b'{"text": "' + b"A" * (12 << 20))}, "bomb.jsonl.gz")
line = json.dumps({"id": "x", "text": "spam spam spam"}).encode() + b"\n"
case("gzip-bomb-many-records", {"bomb.jsonl.gz": gz(line * 800000)}, cmd=
     '"$REVPIPE" decode -f --rejects rej.mp bomb.jsonl.gz >out.mp 2>err; echo "exit $?"\n'
     'n=$("$REVPIPE" cat out.mp | wc -l); [ "$n" -gt 0 ] && [ "$n" -lt 200000 ] && echo "records: some, fewer than 200000"\n'
     '"$REVPIPE" cat rej.mp | grep -o \'"reason":"[a-z_]*"\'\n'
     'grep -c "ratio_exceeded" err\n')
big = json.dumps({"id": "big", "text": "x" * (10 << 20)}).encode() + b"\n"
mid = json.dumps({"id": "mid", "text": "y" * ((1 << 20) + 100)}).encode() + b"\n"
ok = json.dumps({"id": "ok", "text": EN[0]["text"]}).encode() + b"\n"
case("big-field", {"big.jsonl.gz": gz(ok + big + mid + ok)}, "--max-ratio 0 big.jsonl.gz")
bad = [
    b'{"id": "u1", "text": "valid before"}',
    b'{"id": "u2", "text": "bad byte \xff here"}',
    b'{"id": "u3", "text": "overlong \xc0\xaf slash"}',
    b'{"id": "u4", "text": "raw surrogate \xed\xa0\x80 here"}',
    b'{"id": "u5", "text": "escaped lone surrogate \\ud800 here"}',
    b'{"id": "u6", "text": "cut sequence \xe2\x82"}',
    b'{"id": "u7", "text": "too big \xf4\x90\x80\x80"}',
    b'{"id": "u8", "text": "  Cafe\\u0301 decomposed, bell\\u0007, tab\\there,\\r\\nCRLF, C1 \xc2\x85 gone  "}',
    b'{"id": "u9", "text": "valid after \xf0\x9f\x98\x80 \\ud83d\\ude00"}',
]
case("invalid-utf8", {"r.jsonl": b"\n".join(bad) + b"\n"}, "-v r.jsonl")
case("csv-unbalanced-quote", {"in.csv": fiverr(EN[:2]) +
    b'FO9,Logo,c,s,4,"this review opens a quote and never closes it,Nov 3, 2026\nFO10,Logo,c,s,5,fine,Nov 4, 2026\n'}, "in.csv")
wrong = [
    b'{"review_uuid": "w1", "score": 7, "body": "fine record", "posted_at": "2026-11-03T10:00:00Z"}',
    b'{"review_uuid": "w2", "score": 7, "body": {"text": "an object"}, "posted_at": "2026-11-03T10:00:00Z"}',
    b'{"review_uuid": "w3", "score": "seven", "body": "rating is a word", "posted_at": "2026-11-03T10:00:00Z"}',
    b'{"review_uuid": "w4", "score": 11, "body": "rating out of range", "posted_at": "2026-11-03T10:00:00Z"}',
    b'{"review_uuid": "w5", "score": 7, "body": "time is a bool", "posted_at": true}',
    b'{"review_uuid": "w6", "score": 7, "body": "bad date", "posted_at": "2026-02-30T10:00:00Z"}',
    b'{"review_uuid": ["w7"], "score": 7, "body": "id is an array", "posted_at": null}',
    b'{"review_uuid": "w8", "score": 7, "body": ["text", "array"]}',
    b'{"review_uuid": "w9", "score": 7, "posted_at": "2026-11-03"}',
    b'["not", "an", "object"]',
    b'{"review_uuid": "w11", "score": 7, "body": "trailing comma",}',
    b'{"review_uuid": "w12", "score": 7, "body": "cut off',
    b'{"review_uuid": "w13", "score": 10, "body": "last one fine", "posted_at": "2026-11-03T10:00:00+02:00"}',
]
case("json-wrong-types", {"r.jsonl": b"\n".join(wrong) + b"\n"}, "r.jsonl")
case("json-array-broken", {"in.json": percent(EL[:3])[:-4] + b"} oops\n"}, "in.json")
m = generic(FA[:3])
case("msgpack-cut", {"in.msgpack": m[:len(m) - 25]}, "in.msgpack")
case("unsafe-path", {"in.tar": tar_bytes([
    ("../evil.jsonl", tenpoint(RU[:1])), ("/etc/abs.jsonl", tenpoint(RU[:1])),
    ("a/../../climb.jsonl", tenpoint(RU[:1])), ("ok/fine.jsonl", tenpoint(RU[1:2]))])}, "in.tar")
case("unknown-platform", {"r.jsonl": b'{"foo": 1, "bar": "no mapping has these"}\n{"foo": 2}\n'}, "r.jsonl")
case("missing-file", {"ok.jsonl": tenpoint(KK[2:3])}, "nosuch.tar.gz ok.jsonl")
case("usage-unknown-platform", {"r.jsonl": tenpoint(RU[:1])}, "--platform nosuch r.jsonl")
case("limit-records", {"r.jsonl": tenpoint(RU[:5])}, "--max-records 3 r.jsonl")
case("limit-entry-size", {"in.tar": tar_bytes([("big.jsonl", tenpoint(RU[:12])),
    ("small.jsonl", tenpoint(KK[:1]))])}, "--max-entry-size 1K in.tar")
case("unknown-format", {"data.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"}, "data.bin")
case("csv-field-count", {"in.csv": fiverr(EN[:1]) + b"FO7,Logo,c,s,4,too few fields\n" +
    b"FO8,Logo,c,s,4,one too many,Nov 3, 2026,extra\n" + fiverr(EN[1:2])[fiverr(EN[1:2]).index(b"\n") + 1:]}, "in.csv")
case("ten-mb-field-csv", {"in.csv.gz": gz(fiverr(EN[:1]) + b'FO5,Logo,c,s,4,"' + b"z" * (10 << 20) + b'",Nov 3, 2026\n')},
     "--max-ratio 0 in.csv.gz")
EOF
echo "cases written under $here; now: make golden-update and review the diff"
