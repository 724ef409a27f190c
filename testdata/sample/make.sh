#!/bin/sh
# make.sh - rebuild the sample exports in this folder from the corpus.
#
# Real review texts (testdata/corpus, the `test` rows of the one split, so
# nothing here is trained on) in the export shapes of four platforms that
# decode maps (schemas/platforms/*.map), as operators receive them:
#   khamsat-2026-11.jsonl.gz       Khamsat JSON Lines, ar + fa, thumbs up/down
#   fiverr-orders.zip              a zip holding a Fiverr CSV, en + tr, 1-5 stars
#   marketplace-ru-kk.tar.gz       a tarball of 10-point JSON Lines, ru + kk + el
#   shop-percent.json.gz           a JSON array with 0-100 satisfaction, el + en
# Sellers, buyers, orders and dates are made up (seeded); a few reviews are
# re-posted (duplicates), one template text is posted by four buyers, and
# two rows are broken on purpose (rejects).  Same corpus, same bytes.
#
# usage: testdata/sample/make.sh   (from anywhere)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$here"
python3 - "$top/testdata/corpus" <<'PY'
import csv, gzip, io, json, random, sys, tarfile, zipfile
corpus = sys.argv[1]
rnd = random.Random(20261125)

def rows(lang, n):
    out = []
    with gzip.open("%s/reviews.%s.jsonl.gz" % (corpus, lang), "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 5 != 0:          # the test split only
                continue
            r = json.loads(line)
            if len(r["text"]) > 600:
                continue
            out.append(r)
            if len(out) == n:
                break
    return out

def stars(r):
    if r.get("rating"):
        return int(r["rating"])
    return {"pos": rnd.choice([4, 5, 5]), "neg": rnd.choice([1, 1, 2]),
            "neu": 3}[r["label"]]

DAY = 86400
T0 = 1793491200                      # 2026-11-01T00:00:00Z
def when():
    return T0 + rnd.randrange(24 * DAY)

def iso(t, tz="+03:00"):
    import datetime
    off = 3 * 3600 if tz == "+03:00" else 0
    d = datetime.datetime.utcfromtimestamp(t + off)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (tz if off else "Z")

def gz(name, data):
    with open(name, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(data)

# Khamsat: Arabic and Persian, thumbs.
ks = ["مصمم_محترف", "designer_1", "نور_للتصميم", "dev_sa"]
lines = []
for i, r in enumerate(rows("ar", 36) + rows("fa", 12)):
    rec = {"review_id": 81000 + i, "order": {"id": "KH-%d" % (5000 + i)},
           "service": {"id": 20 + i % 4, "title": rnd.choice(["تصميم شعار احترافي", "كتابة محتوى", "برمجة موقع"])},
           "buyer": {"username": "buyer_%d" % rnd.randrange(30), "country": "SA"},
           "seller": {"username": rnd.choice(ks), "level": 2},
           "recommended": r["label"] == "pos" or (r["label"] == "neu" and i % 2 == 0),
           "comment": r["text"], "created_at": iso(when())}
    lines.append(json.dumps(rec, ensure_ascii=False))
lines.append(lines[3])               # the same review exported twice
gz("khamsat-2026-11.jsonl.gz", ("\n".join(lines) + "\n").encode())

# Fiverr: a CSV inside a zip, English and Turkish.
fs = ["gigmaker3", "logo_lab", "swift_dev", "Ayşe_Tasarım"]
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\r\n")
w.writerow(["Order ID", "Gig Title", "Buyer", "Seller", "Rating", "Review", "Review Date"])
import datetime
tmpl = "Great seller, fast delivery, highly recommended, will order again!"
for i, r in enumerate(rows("en", 36) + rows("tr", 16)):
    t = datetime.datetime.utcfromtimestamp(when())
    w.writerow(["FO%d" % (91000 + i), rnd.choice(["I will design a modern logo, fast", "I will build your website"]),
                "client%d" % rnd.randrange(40), rnd.choice(fs), "%.1f" % stars(r), r["text"],
                t.strftime("%b %-d, %Y")])
for b in range(4):                   # a template pasted by four buyers
    w.writerow(["FO%d" % (92000 + b), "I will build your website", "promo%d" % b, "swift_dev",
                "5.0", tmpl, "Nov %d, 2026" % (10 + b)])
w.writerow(["FO93000", "I will build your website", "client1", "logo_lab", "5.0", "", "Nov 12, 2026"])
zi = zipfile.ZipInfo("fiverr-reviews-2026-11.csv", date_time=(2026, 11, 25, 0, 0, 0))
zi.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile("fiverr-orders.zip", "w") as z:
    z.writestr(zi, buf.getvalue().encode("utf-8"))

# 10-point marketplace: Russian, Kazakh, Greek JSON Lines in a tarball.
ms = ["shop2", "Ремонт-Сервис", "Алматы_Маркет", "shop7"]
lines = []
for i, r in enumerate(rows("ru", 24) + rows("kk", 24) + rows("el", 10)):
    s = stars(r) * 2 - rnd.choice([0, 1])
    rec = {"review_uuid": "5f0c%04d-aa11-4c2d-9e1f-sample" % i, "author": "user%d" % rnd.randrange(50),
           "merchant": rnd.choice(ms), "listing": rnd.choice(["Ремонт ноутбука", "Доставка цветов"]),
           "score": s, "headline": r["text"][:40], "body": r["text"], "posted_at": iso(when(), "Z")}
    lines.append(json.dumps(rec, ensure_ascii=False))
lines.append(lines[5])
lines.append('{"review_uuid": "broken", "author": "user1", "merchant": "shop2", "score": 7, "body": ')
data = ("\n".join(lines) + "\n").encode()
ti = tarfile.TarInfo("export/reviews-2026-11.jsonl")
ti.size, ti.mtime, ti.uname, ti.gname = len(data), 1795651200, "export", "export"
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as t:
    t.addfile(ti, io.BytesIO(data))
gz("marketplace-ru-kk.tar.gz", raw.getvalue())

# Percent satisfaction: a JSON array, Greek and English.
arr = []
for i, r in enumerate(rows("el", 14)[10:] + rows("en", 44)[36:]):
    arr.append({"reviewId": "P-%d" % (700 + i), "shop": {"name": rnd.choice(["Ωμέγα Shop", "Delta Store"])},
                "customer": {"name": "cust%d" % rnd.randrange(20)}, "orderRef": "R%d" % i,
                "product": {"name": "Service"}, "satisfaction": stars(r) * 20 - rnd.choice([0, 5, 10]),
                "content": r["text"], "timestamp": when() * 1000})
gz("shop-percent.json.gz", json.dumps(arr, ensure_ascii=False, indent=1).encode())
PY
ls -l "$here"
