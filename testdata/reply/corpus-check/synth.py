#!/usr/bin/env python3
"""synth.py - stand-in for decode | langid | classify on the dev corpus.

Reads corpus JSONL (testdata/corpus/reviews.LANG.jsonl.gz, decompressed)
on stdin and writes review records with the keys `revpipe reply` reads:
lang from the file, sentiment from the label, topics and evidence from a
few keywords per language, a kind drawn deterministically from the id
(about 4% suspect_fake, 3% abusive, 3% rating_mismatch), created_at,
and a buyer and a service on some rows.  Deterministic: no clock, no
random state.
"""
import hashlib
import json
import re
import sys

TOPICS = {
    "delivery": r"deliver|late\b|arriv|shipping|доставк|опозд|курьер|жеткіз|кешік|"
                r"توصيل|تأخر|شحن|αποστολ|παράδοσ|καθυστέρ|kargo|teslimat|geç|ارسال|دیر",
    "quality": r"quality|broke|defect|stopped working|качеств|сломал|брак|глюч|баг|"
               r"сапа|сынды|бұзыл|جودة|خراب|ποιότητα|χάλασε|ελαττωματ|kalite|bozuk|"
               r"کیفیت|خراب",
    "price": r"price|expensive|money|цен[аыу]|дорог|денег|баға|қымбат|ақша|سعر|غالي|"
             r"τιμή|ακριβ|fiyat|pahalı|para\b|قیمت|گران",
    "support": r"support|service|поддержк|қолдау|خدمة العملاء|υποστήριξη|destek|پشتیبانی",
    "communication": r"no answer|no reply|не отвечa|не отвеча|жауап жоқ|لا يرد|δεν απαντ|"
                     r"cevap vermi|جواب نمی",
    "refund": r"refund|возврат|вернуть деньги|қайтар|استرداد|επιστροφή χρημ|iade|بازگشت پول",
}
SERVICES = {
    "en": "logo design", "ru": "дизайн логотипа", "kk": "логотип дизайны",
    "ar": "تصميم شعار", "el": "σχεδιασμός λογότυπου", "tr": "logo tasarımı",
    "fa": "طراحی لوگو",
}

def h(s):
    return int.from_bytes(hashlib.sha1(s.encode()).digest()[:8], "big")

for i, line in enumerate(sys.stdin):
    r = json.loads(line)
    text, lang = r["text"], r["lang"]
    low = text.lower()
    topics, evidence = [], []
    for t, rx in TOPICS.items():
        m = re.search(rx, low)
        if m:
            topics.append(t)
            # The buyer's own word, as it is written in the text.
            evidence.append(text[m.start():m.end()])
    k = h(r["id"]) % 100
    rating = r.get("rating")
    kind = "genuine"
    if r["label"] == "neg" and k < 4:
        kind = "suspect_fake"
    elif r["label"] == "neg" and k < 7:
        kind = "abusive"
    elif r["label"] == "pos" and 7 <= k < 10:
        kind, rating = "rating_mismatch", 1
    out = {
        "id": r["id"], "text": text, "lang": lang, "rating": rating,
        "created_at": 1764000000 + 600 * i,
        "sentiment": r["label"], "sent_score": {"pos": 0.8, "neg": -0.8}.get(r["label"], 0.0),
        "topics": topics, "kind": kind, "evidence": evidence,
    }
    if i % 3 == 0:
        out["buyer"] = "buyer%d" % i
    if i % 4 == 0:
        out["service"] = SERVICES.get(lang, "logo design")
    print(json.dumps(out, ensure_ascii=False))
