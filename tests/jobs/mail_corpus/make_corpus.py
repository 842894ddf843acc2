# ruff: noqa: UP012  (the encoding of every byte string is spelled out on purpose)
"""Write the mail corpus: tricky messages as mail programs send them, each with its
expectations (issue 15). Run `python tests/jobs/mail_corpus/make_corpus.py` to rewrite
the files; the .eml and .json files are committed, so the test reads bytes on disk.

Each `NAME.eml` has a `NAME.json` sidecar:
- "class": what is tricky about it (the issue's classes);
- "language": fr, nl or de;
- "body" / "not_in_body" / "subject": phrases expected (or not) in the contact;
- "flagged": whether a red flag must be found; "flag_where": "attached" when only an
  attached message holds it; "losses": the loss codes the contact must carry;
- "refused": the file is not an email (the CLI refuses it, the poll quarantines it).
Line endings: LF unless the name ends in "-crlf".
"""

import base64
import json
import os
import quopri

HERE = os.path.dirname(os.path.abspath(__file__))
DATE = b"Date: Tue, 10 Mar 2026 10:00:00 +0100"
TO = b"To: Cellule <cellule@fund.test>"

CORPUS = []


def add(name, raw, *, cls, language, body=(), not_in_body=(), subject=None, flagged=False,
        flag_where=None, losses=(), refused=False, crlf=False):
    if crlf:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    CORPUS.append((name, raw, {
        "class": cls, "language": language, "body": list(body),
        "not_in_body": list(not_in_body), "subject": subject, "flagged": flagged,
        "flag_where": flag_where, "losses": sorted(losses), "refused": refused,
    }))


def message(headers, body, *, sender=b"From: Marie Dubois <marie.dubois@example.be>",
            message_id=True, name=""):
    lines = [sender] if sender is not None else []
    lines += [TO, DATE]
    if message_id:
        lines.append(b"Message-ID: <" + name.encode() + b"@corpus.example.be>")
    lines += [b"MIME-Version: 1.0"] + list(headers)
    return b"\n".join(lines) + b"\n\n" + body


def qp(data):
    return quopri.encodestring(data)


def b64(data):
    return base64.encodebytes(data)


# --- windows-1252 labelled iso-8859-1 (Outlook) --------------------------------------

add("outlook-iso-8859-1-fr", message([
    b"Subject: Je n\x92en peux plus",
    b"Content-Type: text/plain; charset=\"iso-8859-1\"",
    b"Content-Transfer-Encoding: quoted-printable"],
    qp("Bonjour,\n\nJ’ai envie de mourir, je n’en peux plus de ce travail.\n"
       "Mon comptable m’a lâché.\n\nMarie\n".encode("cp1252")), name="outlook-fr"),
    cls="windows-1252 labelled iso-8859-1", language="fr",
    body=["J’ai envie de mourir", "m’a lâché"], subject="Je n’en peux plus", flagged=True)

add("outlook-iso-8859-1-nl-crlf", message([
    b"Subject: Hulp",
    b"Content-Type: text/plain; charset=iso-8859-1",
    b"Content-Transfer-Encoding: 8bit"],
    "Goedemiddag,\n\nIk zie het niet meer zitten… Mijn zaak gaat failliet en ik wil niet "
    "meer leven. Ik durf het mijn vrouw niet te zeggen – ze denkt dat alles ‘goed’ gaat.\n"
    .encode("cp1252"), sender=b"From: Jan Peeters <jan.peeters@example.be>", name="outl-nl"),
    cls="windows-1252 labelled iso-8859-1", language="nl", crlf=True,
    body=["zie het niet meer zitten…", "wil niet meer leven", "‘goed’"], flagged=True)

add("outlook-iso-8859-1-de", message([
    b"Subject: =?iso-8859-1?Q?Ich_wei=DF_nicht_mehr_weiter?=",
    b"Content-Type: text/plain; charset=\"iso-8859-1\"",
    b"Content-Transfer-Encoding: quoted-printable"],
    qp("Guten Tag,\n\nich will nicht mehr leben. „Das wird schon“, sagen alle – aber "
       "mein Betrieb ist am Ende.\n".encode("cp1252")),
    sender=b"From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <juergen.mueller@example.de>",
    name="outl-de"),
    cls="windows-1252 labelled iso-8859-1", language="de",
    body=["will nicht mehr leben", "„Das wird schon“"], subject="Ich weiß nicht mehr weiter",
    flagged=True)

add("us-ascii-labelled-cp1252-fr", message([
    b"Subject: Question",
    b"Content-Type: text/plain; charset=us-ascii"],
    "Je pense à en finir. C’est trop.\n".encode("cp1252"), name="ascii-fr"),
    cls="windows-1252 labelled us-ascii", language="fr", body=["en finir", "C’est trop"],
    flagged=True)

# --- 8-bit text without a charset ---------------------------------------------------

add("latin1-undeclared-fr", message([
    b"Subject: aide",
    b"Content-Type: text/plain",
    b"Content-Transfer-Encoding: 8bit"],
    "J'ai des idées suicidaires depuis que j'ai fermé mon café.\n".encode("latin-1"),
    name="undecl-fr"),
    cls="Latin-1 without charset", language="fr", body=["idées suicidaires", "fermé mon café"],
    flagged=True)

add("latin1-no-content-type-de", message([b"Subject: Betrieb"],
    "Ich weiß nicht mehr weiter. Die Schulden erdrücken mich.\n".encode("latin-1"),
    sender=b"From: Anna Schmitz <anna.schmitz@example.de>", name="undecl-de"),
    cls="Latin-1 without charset", language="de", body=["weiß nicht mehr weiter", "erdrücken"],
    flagged=True)

add("latin1-undeclared-nl", message([
    b"Subject: vraag", b"Content-Type: text/plain; format=flowed"],
    "Ik heb suïcidale gedachten. Mijn café in Gent loopt niet meer.\n".encode("latin-1"),
    sender=b"From: Els Janssens <els.janssens@example.be>", name="undecl-nl"),
    cls="Latin-1 without charset", language="nl", body=["suïcidale gedachten"], flagged=True)

add("utf8-undeclared-fr", message(["Subject: ça ne va pas".encode("utf-8"),
                                    b"Content-Type: text/plain"],
    "Je voudrais mourir, tout s’écroule.\n".encode("utf-8"), name="undecl-utf8"),
    cls="UTF-8 without charset; RFC 6532 header", language="fr",
    body=["Je voudrais mourir", "s’écroule"], subject="ça ne va pas", flagged=True)

# --- windows-1252 labelled utf-8 -----------------------------------------------------

add("cp1252-labelled-utf8-fr", message([
    b"Subject: =?utf-8?q?D=C3=A9tresse?=",
    b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: 8bit"],
    "Je veux mourir. Je n’ai plus d’argent, plus d’énergie.\n".encode("cp1252"),
    name="mislabel-fr"),
    cls="windows-1252 labelled utf-8", language="fr", body=["Je veux mourir", "d’énergie"],
    subject="Détresse", flagged=True)

add("cp1252-labelled-utf8-nl", message([
    b"Subject: Geen uitweg",
    b"Content-Type: text/plain; charset=\"UTF-8\"", b"Content-Transfer-Encoding: quoted-printable"],
    qp("Ik wil er een einde aan maken. Het café is dicht, de bank belt elke dag.\n"
       .encode("cp1252")), sender=b"From: Luc Maes <luc.maes@example.be>", name="mislabel-nl"),
    cls="windows-1252 labelled utf-8", language="nl",
    body=["wil er een einde aan maken", "Het café is dicht"], flagged=True)

add("mixed-utf8-and-cp1252-de", message([
    b"Subject: Hilfe", b"Content-Type: text/plain; charset=utf-8"],
    "Grüße. ".encode("utf-8") + "Ich möchte mich umbringen.\n".encode("cp1252"),
    sender=b"From: Karl Weber <karl.weber@example.de>", name="mixed-de"),
    cls="UTF-8 with windows-1252 bytes", language="de",
    body=["Grüße", "Ich möchte mich umbringen"], flagged=True)

# --- multipart/alternative whose text part is a stub -------------------------------

HTML_FR = ("<html><body><p>Bonjour,</p><p>Depuis la faillite j’ai des <b>idées noires</b>, "
           "je ne vois plus d’issue. Mes enfants seraient mieux sans moi.</p>"
           "<p>Sophie</p></body></html>")


def alternative(plain, html, charset=b"utf-8", name="", subject=b"Subject: message",
                sender=b"From: Sophie Leroy <sophie.leroy@example.be>"):
    return message([
        subject, b'Content-Type: multipart/alternative; boundary="ALT"'],
        b"--ALT\nContent-Type: text/plain; charset=" + charset + b"\n\n" + plain +
        b"\n--ALT\nContent-Type: text/html; charset=" + charset +
        b"\nContent-Transfer-Encoding: quoted-printable\n\n" + qp(html) + b"\n--ALT--\n",
        sender=sender, name=name)


add("alternative-stub-text-fr", alternative(b"This message is in HTML format.",
    HTML_FR.encode("utf-8"), name="stub-fr"),
    cls="multipart/alternative with a stub text part", language="fr",
    body=["idées noires", "je ne vois plus d’issue"], not_in_body=["in HTML format"],
    flagged=True)

add("alternative-empty-text-nl", alternative(b"", (
    "<html><body><div>Ik wil dood. Niemand begrijpt het.</div><div>Groeten, Bart</div>"
    "</body></html>").encode("utf-8"), name="empty-nl",
    sender=b"From: Bart Claes <bart.claes@example.be>"),
    cls="multipart/alternative with an empty text part", language="nl",
    body=["Ik wil dood"], flagged=True)

add("alternative-short-text-de", alternative(b"Hallo,", (
    "<html><body><p>Hallo,</p><p>ich habe Suizidgedanken und keinen Ausweg mehr. Der Hof "
    "ist verschuldet, meine Frau weiß nichts.</p><p>Peter</p></body></html>").encode("utf-8"),
    name="short-de", sender=b"From: Peter Krause <peter.krause@example.de>"),
    cls="multipart/alternative with a stub text part", language="de",
    body=["Suizidgedanken", "keinen Ausweg mehr"], flagged=True)

add("alternative-full-text-fr", alternative(
    "Bonjour, je suis en burn-out, épuisé, je ne dors plus. Pouvez-vous m’appeler ?"
    .encode("utf-8"),
    "<p>Bonjour, je suis en <i>burn-out</i>, épuisé, je ne dors plus. Pouvez-vous "
    "m’appeler ?</p>".encode("utf-8"), name="full-fr",
    sender=b"From: Paul Lambert <paul.lambert@example.be>"),
    cls="multipart/alternative with a complete text part (kept)", language="fr",
    body=["burn-out, épuisé", "m’appeler"], flagged=False)

add("related-html-stub-nl", message([
    b"Subject: Burn-out", b'Content-Type: multipart/alternative; boundary="a1"'],
    b"--a1\nContent-Type: text/plain; charset=utf-8\n\n[image: logo]\n"
    b"--a1\nContent-Type: multipart/related; boundary=\"r1\"\n\n"
    b"--r1\nContent-Type: text/html; charset=utf-8\n\n" +
    ("<p>Ik ben opgebrand, burn-out sinds maanden. Ik wil mijn leven beëindigen.</p>"
     "<p>Mijn drukkerij draait verlies en ik slaap niet meer. Groeten, Ann</p>"
     "<img src=\"cid:logo\">").encode("utf-8") +
    b"\n--r1\nContent-Type: image/png; name=\"logo.png\"\nContent-ID: <logo>\n"
    b"Content-Transfer-Encoding: base64\n\n" + b64(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50) +
    b"--r1--\n--a1--\n", sender=b"From: Ann Wouters <ann.wouters@example.be>", name="rel-nl"),
    cls="alternative of a stub and multipart/related HTML", language="nl",
    body=["mijn leven beëindigen", "logo.png"], flagged=True)

# --- inline text parts with a filename ---------------------------------------------


def inline_named(text, charset, filename, name, sender, subject=b"Subject: bericht"):
    return message([subject, b'Content-Type: multipart/mixed; boundary="MIX"'],
                   b"--MIX\nContent-Type: text/plain; charset=" + charset +
                   b"; name=\"" + filename + b"\"\nContent-Disposition: inline; filename=\"" +
                   filename + b"\"\nContent-Transfer-Encoding: base64\n\n" + b64(text) +
                   b"--MIX--\n", sender=sender, name=name)


add("inline-named-text-fr", inline_named(
    "Je veux mettre fin à mes jours. Personne ne le sait.\n".encode("utf-8"), b"utf-8",
    b"message.txt", "inline-fr", b"From: Claire Petit <claire.petit@example.be>"),
    cls="inline text part with a filename", language="fr",
    body=["mettre fin à mes jours"], not_in_body=["📎"], flagged=True)

add("inline-named-text-nl", inline_named(
    "Ik denk aan zelfmoord. Mijn boekhouder weet het.\n".encode("cp1252"), b"iso-8859-1",
    b"ATT00001.txt", "inline-nl", b"From: Tom Peeters <tom.peeters@example.be>"),
    cls="inline text part with a filename", language="nl", body=["denk aan zelfmoord"],
    flagged=True)

add("inline-named-text-de", inline_named(
    "Ich will sterben. Die Werkstatt ist pleite.\n".encode("utf-8"), b"utf-8",
    b"Nachricht.txt", "inline-de", b"From: Uwe Franz <uwe.franz@example.de>"),
    cls="inline text part with a filename", language="de", body=["Ich will sterben"],
    flagged=True)

add("apple-split-text-fr", message([
    b"Subject: suite", b'Content-Type: multipart/mixed; boundary="Apple-Mail-1"'],
    b"--Apple-Mail-1\nContent-Type: text/plain; charset=us-ascii\n\nBonjour,\n\n"
    b"--Apple-Mail-1\nContent-Type: image/jpeg; name=photo.jpg\n"
    b"Content-Disposition: inline; filename=photo.jpg\nContent-Transfer-Encoding: base64\n\n" +
    b64(b"\xff\xd8\xff\xe0" + b"\x00" * 40) +
    b"\n--Apple-Mail-1\nContent-Type: text/plain; charset=utf-8\n"
    b"Content-Transfer-Encoding: quoted-printable\n\n" +
    qp("Voici mon magasin vide. J’ai des idées suicidaires.\n".encode("utf-8")) +
    b"\n--Apple-Mail-1--\n", name="apple-fr"),
    cls="text parts around an inline image (Apple Mail)", language="fr",
    body=["Bonjour,", "idées suicidaires", "photo.jpg"], flagged=True)

# --- HTML whose charset is only in <meta> ----------------------------------------

add("html-meta-charset-fr", message([
    b"Subject: au secours", b"Content-Type: text/html", b"Content-Transfer-Encoding: 8bit"],
    ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
     "charset=windows-1252\"></head><body><p>Je n’ai plus envie de vivre.</p>"
     "<p>Hélène</p></body></html>").encode("cp1252"),
    sender=b"From: Helene Martin <helene.martin@example.be>", name="meta-fr"),
    cls="HTML with <meta> charset only", language="fr",
    body=["plus envie de vivre", "Hélène"], flagged=True)

add("html-meta-charset-de", message([
    b"Subject: Hof", b"Content-Type: text/html"],
    ("<!doctype html><html><head><meta charset=\"iso-8859-1\"></head><body>"
     "Ich möchte mir das Leben nehmen. Grüße, Jörg</body></html>").encode("cp1252"),
    sender=b"From: Joerg Bauer <joerg.bauer@example.de>", name="meta-de"),
    cls="HTML with <meta> charset only", language="de",
    body=["mir das Leben nehmen", "Jörg"], flagged=True)

add("html-meta-utf8-nl", message([
    b"Subject: zaak", b"Content-Type: text/html"],
    ("<html><head><meta charset=utf-8></head><body>Ik wil niet meer leven — "
     "het café is failliet. Groetjes, Ine</body></html>").encode("utf-8"),
    sender=b"From: Ine Smet <ine.smet@example.be>", name="meta-nl"),
    cls="HTML with <meta> charset only", language="nl",
    body=["wil niet meer leven", "café"], flagged=True)

# --- Attached messages -------------------------------------------------------------

CELL_MAIL = (b"From: Cellule <cellule@fund.test>\nTo: marc@example.be\n"
             b"Subject: Votre demande\nDate: Mon, 9 Mar 2026 09:00:00 +0100\n"
             b"Content-Type: text/plain; charset=utf-8\n\n" +
             "Bonjour, la cellule d’écoute vous propose un rendez-vous.\n".encode("utf-8"))

add("html-reply-with-attached-exchange-fr", message([
    b"Subject: RE: Votre demande", b'Content-Type: multipart/mixed; boundary="M"'],
    b"--M\nContent-Type: text/html; charset=windows-1252\n\n" +
    "<p>Merci. Mais je pense à me foutre en l’air, honnêtement.</p>".encode("cp1252") +
    b"\n--M\nContent-Type: message/rfc822\n\n" + CELL_MAIL + b"\n--M--\n",
    sender=b"From: Marc Renard <marc.renard@example.be>", name="reply-fr"),
    cls="HTML-only reply with the earlier exchange attached", language="fr",
    body=["me foutre en l’air", "Votre demande"],
    not_in_body=["vous propose un rendez-vous"], flagged=True, losses=["attached"])

FORWARDED_NL = (b"From: Koen Dierckx <koen.dierckx@example.be>\nTo: broer@example.be\n"
                b"Subject: =?utf-8?q?Ik_kan_niet_meer?=\nDate: Sun, 8 Mar 2026 22:00:00 +0100\n"
                b"Content-Type: text/plain; charset=iso-8859-1\n\n" +
                "Ik heb zelfmoordgedachten, zeg het aan niemand.\n".encode("cp1252"))

add("forwarded-distress-attached-nl", message([
    b"Subject: Fwd: Ik kan niet meer", b'Content-Type: multipart/mixed; boundary="F"'],
    b"--F\nContent-Type: text/plain; charset=utf-8\n\n"
    b"Goedendag, mijn broer stuurde me dit. Wat moet ik doen?\n"
    b"--F\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n" +
    FORWARDED_NL + b"\n--F--\n",
    sender=b"From: Lies Dierckx <lies.dierckx@example.be>", name="fwd-nl"),
    cls="forwarded message attached (its text not in the body, flagged)", language="nl",
    body=["mijn broer stuurde me dit", "Ik kan niet meer"],
    not_in_body=["zelfmoordgedachten"], flagged=True, flag_where="attached",
    losses=["attached"])

add("forwarded-distress-attached-de", message([
    b"Subject: WG: Nachricht", b'Content-Type: multipart/mixed; boundary="W"'],
    b"--W\nContent-Type: text/plain; charset=utf-8\n\nSehen Sie bitte unten.\n"
    b"--W\nContent-Type: message/rfc822\n\n"
    b"From: Max Vogel <max@example.de>\nSubject: Hilfe\n"
    b"Content-Type: text/plain; charset=utf-8\n\n" +
    "Ich habe Selbstmordgedanken.\n".encode("utf-8") + b"\n--W--\n",
    sender=b"From: Eva Vogel <eva.vogel@example.de>", name="fwd-de"),
    cls="forwarded message attached (its text not in the body, flagged)", language="de",
    body=["Sehen Sie bitte unten"], not_in_body=["Selbstmordgedanken"], flagged=True,
    flag_where="attached", losses=["attached"])

# --- Headers: encoded-words with raw 8-bit, RFC 6532 ------------------------------

add("encoded-word-raw-8bit-subject-fr", message([
    b"Subject: =?iso-8859-1?q?Id\xe9es_noires?=",
    b"Content-Type: text/plain; charset=utf-8"],
    "Je vous écris car j’ai des idées noires.\n".encode("utf-8"),
    sender=b"From: =?utf-8?q?Andr\xc3\xa9?= Dupont <andre.dupont@example.be>", name="ew8-fr"),
    cls="encoded-word holding raw 8-bit bytes", language="fr", subject="Idées noires",
    body=["idées noires"], flagged=True)

add("rfc6532-utf8-headers-de", message([
    "Subject: Ich weiß nicht mehr weiter – bitte um Rückruf".encode("utf-8"),
    b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: 8bit"],
    "Seit der Insolvenz bin ich völlig erschöpft.\n".encode("utf-8"),
    sender="From: Jürgen Groß <juergen.gross@example.de>".encode("utf-8"), name="6532-de"),
    cls="RFC 6532 UTF-8 headers", language="de",
    subject="Ich weiß nicht mehr weiter – bitte um Rückruf", body=["völlig erschöpft"],
    flagged=True)

add("encoded-words-split-utf8-nl", message([
    b"Subject: =?UTF-8?B?SWsgd2lsIG5pZXQgbWVlciBsZXZlbiDi?=\n =?UTF-8?B?gJQgaGVscA==?=",
    b"Content-Type: text/plain; charset=utf-8"], b"Zie onderwerp.\n",
    sender=b"From: =?UTF-8?Q?Fran=C3=A7ois?= Dewit <francois.dewit@example.be>",
    name="split-nl"),
    cls="a UTF-8 character split over two encoded-words", language="nl",
    subject="Ik wil niet meer leven — help", body=["Zie onderwerp."], flagged=True)

add("encoded-word-cp1252-as-latin1-fr", message([
    b"Subject: =?iso-8859-1?Q?J=92en_ai_assez,_je_veux_en_finir?=",
    b"Content-Type: text/plain; charset=utf-8"], b"Rien d'autre.\n", name="ewq-fr"),
    cls="encoded-word: windows-1252 labelled iso-8859-1", language="fr",
    subject="J’en ai assez, je veux en finir", flagged=True)

add("subject-only-distress-de", message([
    b"Subject: =?utf-8?q?Ich_will_nicht_mehr_leben?=",
    b"Content-Type: text/plain; charset=utf-8"], b"\n",
    sender=b"From: Lena Haas <lena.haas@example.de>", name="subj-de"),
    cls="empty body, distress in the subject", language="de",
    subject="Ich will nicht mehr leben", flagged=True)

# --- Broken structure --------------------------------------------------------------

add("broken-boundary-fr", message([
    b"Subject: urgent", b'Content-Type: multipart/mixed; boundary="DECLARED"'],
    b"--ACTUAL\nContent-Type: text/plain; charset=utf-8\n\n" +
    "Je veux me suicider, aidez-moi.\n".encode("utf-8") + b"--ACTUAL--\n",
    sender=b"From: Julie Noel <julie.noel@example.be>", name="broken-fr"),
    cls="broken MIME boundary", language="fr", body=["me suicider"], flagged=True,
    losses=["malformed"])

add("no-boundary-nl", message([
    b"Subject: dringend", b"Content-Type: multipart/alternative"],
    "Ik wil dood, echt waar. Bel me.\n".encode("utf-8"),
    sender=b"From: Wim Goossens <wim.goossens@example.be>", name="nob-nl"),
    cls="multipart without a boundary", language="nl", body=["Ik wil dood"], flagged=True,
    losses=["malformed"])

# --- Senders that cannot be used, messages without a Message-ID -------------------

add("no-from-no-id-fr", message([
    b"Subject: sans nom", b"Content-Type: text/plain; charset=utf-8"],
    "Je ne donnerai pas mon nom. Je veux mourir.\n".encode("utf-8"),
    sender=None, message_id=False),
    cls="no From, no Message-ID", language="fr", body=["Je veux mourir"], flagged=True)

add("empty-from-nl", message([
    b"Subject: anoniem", b"Content-Type: text/plain; charset=utf-8"],
    b"Ik wil er een eind aan maken.\n", sender=b"From: <>", name="empty-from-nl"),
    cls="From <>", language="nl", body=["een eind aan maken"], flagged=True)

add("mailer-daemon-bounce-crlf", message([
    b"Subject: Undelivered Mail Returned to Sender",
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"'],
    b"--B\nContent-Type: text/plain; charset=us-ascii\n\n"
    b"This is the mail system at host mx.fund.test. Your message could not be delivered.\n"
    b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.fund.test\n\n"
    b"Final-Recipient: rfc822; nobody@example.be\nAction: failed\nStatus: 5.1.1\n"
    b"--B\nContent-Type: text/rfc822-headers\n\nFrom: cellule@fund.test\nSubject: RDV\n"
    b"--B--\n", sender=b"From: MAILER DAEMON <>", message_id=False),
    cls="bounce from MAILER DAEMON <>", language="en", crlf=True,
    body=["could not be delivered", "message/delivery-status"])

add("two-addresses-de", message([
    b"Subject: Wir beide", b"Content-Type: text/plain; charset=utf-8"],
    "Mein Mann will nicht mehr leben.\n".encode("utf-8"),
    sender=b"From: anna@example.de max@example.de", name="two-de"),
    cls="two addresses separated by a space", language="de", body=["will nicht mehr leben"],
    flagged=True)

add("source-route-fr", message([
    b"Subject: route", b"Content-Type: text/plain; charset=utf-8"],
    b"Plus envie de vivre.\n", sender=b"From: <@relay.example.be:luc.dupont@example.be>",
    message_id=False),
    cls="source route, no Message-ID", language="fr", body=["Plus envie de vivre"],
    flagged=True)

add("no-message-id-nl-crlf", message([
    b"Subject: zonder id", b"Content-Type: text/plain; charset=utf-8"],
    b"Ik zie het niet meer zitten.\n", sender=b"From: Kris Mertens <kris.mertens@example.be>",
    message_id=False),
    cls="no Message-ID, CRLF file", language="nl", crlf=True,
    body=["zie het niet meer zitten"], flagged=True)

add("undisclosed-from-de", message([
    b"Subject: anonym", b"Content-Type: text/plain; charset=utf-8"],
    "Ich habe keinen Ausweg mehr.\n".encode("utf-8"),
    sender=b"From: undisclosed-recipients:;", message_id=False),
    cls="From is an empty group, no Message-ID", language="de",
    body=["keinen Ausweg mehr"], flagged=True)

# --- What cannot be decoded --------------------------------------------------------

add("undecodable-cp1252-holes-fr", message([
    b"Subject: texte", b"Content-Type: text/plain; charset=windows-1252"],
    b"Je suis \x81\x8d\x90 en burn-out complet.\n", name="holes-fr"),
    cls="bytes undefined in windows-1252", language="fr", body=["en burn-out complet", "\ufffd"],
    losses=["undecodable"])

add("undecodable-shift-jis-nl", message([
    b"Subject: =?shift_jis?B?gqCCoA==?=", b"Content-Type: text/plain; charset=shift_jis"],
    b"Ik wil niet meer leven \x82\xa0 \x82\n", name="sjis-nl"),
    cls="broken multi-byte charset", language="nl", body=["wil niet meer leven"],
    flagged=True, losses=["undecodable"])

add("unknown-charset-de", message([
    b"Subject: Post", b"Content-Type: text/plain; charset=x-unknown-8bit"],
    "Ich will mich töten.\n".encode("latin-1"),
    sender=b"From: Ralf Kern <ralf.kern@example.de>", name="unknown-de"),
    cls="unknown charset label", language="de", body=["will mich töten"], flagged=True)

# --- Other encodings and shapes ------------------------------------------------------

add("base64-utf8-nl", message([
    b"Subject: =?utf-8?q?Burn-out?=", b"Content-Type: text/plain; charset=utf-8",
    b"Content-Transfer-Encoding: base64"],
    b64("Ik ben volledig opgebrand en wil mezelf iets aandoen. Ik slaap niet meer.\n"
        .encode("utf-8")), sender=b"From: Sara Vos <sara.vos@example.be>", name="b64-nl"),
    cls="base64 UTF-8", language="nl", body=["wil mezelf iets aandoen"], flagged=True)

add("iso-8859-15-fr", message([
    b"Subject: =?iso-8859-15?q?Dettes_de_5000_=A4?=",
    b"Content-Type: text/plain; charset=iso-8859-15"],
    "Je dois 5000 € et je pense à me pendre. Ma sœur ne sait rien.\n".encode("iso-8859-15"),
    name="l9-fr"),
    cls="iso-8859-15 (euro sign)", language="fr", subject="Dettes de 5000 €",
    body=["5000 €", "me pendre", "Ma sœur"], flagged=True)

add("rfc2231-filename-de", message([
    b"Subject: Unterlagen", b'Content-Type: multipart/mixed; boundary="X"'],
    b"--X\nContent-Type: text/plain; charset=utf-8\n\n" +
    "Anbei die Mahnung. Ich bin am Ende, burn-out, ohne mich besser dran.\n".encode("utf-8") +
    b"\n--X\nContent-Type: application/pdf\n"
    b"Content-Disposition: attachment; filename*=utf-8''Mahnung%20M%C3%A4rz.pdf\n"
    b"Content-Transfer-Encoding: base64\n\n" + b64(b"%PDF-1.4 " + b"x" * 200) + b"--X--\n",
    sender=b"From: Ute Lang <ute.lang@example.de>", name="2231-de"),
    cls="RFC 2231 attachment name", language="de",
    body=["ohne mich besser dran", "📎 Mahnung März.pdf (application/pdf"], flagged=True)

add("plain-burnout-no-flag-nl", message([
    b"Subject: Vraag over begeleiding", b"Content-Type: text/plain; charset=utf-8",
    b"Content-Transfer-Encoding: quoted-printable"],
    qp("Beste,\n\nIk denk dat ik een burn-out heb. Ik ben zelfstandig bakker en werk "
       "zeventig uur per week. Kan ik een afspraak maken?\n\nMet vriendelijke groet,\n"
       "Dirk\n".encode("utf-8")), sender=b"From: Dirk Hermans <dirk.hermans@example.be>",
    name="plain-nl"),
    cls="plain request, no red flag", language="nl", body=["burn-out", "zeventig uur"],
    flagged=False)

add("plain-question-no-flag-fr", message([
    b"Subject: Question pratique", b"Content-Type: text/plain; charset=utf-8"],
    "Bonjour, quels sont vos horaires d’ouverture ? Je suis épuisée.\n".encode("utf-8"),
    sender=b"From: Nadia Benali <nadia.benali@example.be>", name="plain-fr"),
    cls="plain request, no red flag", language="fr", body=["horaires d’ouverture"],
    flagged=False)

add("long-body-truncated-de", message([
    b"Subject: Mein Tagebuch", b"Content-Type: text/plain; charset=utf-8"],
    "Ich will nicht mehr leben.\n".encode("utf-8") +
    ("Heute wieder zwölf Stunden gearbeitet. " * 3000).encode("utf-8"),
    sender=b"From: Heinz Roth <heinz.roth@example.de>", name="long-de"),
    cls="body longer than the limit (cut, marked)", language="de",
    body=["will nicht mehr leben", "[…]"], flagged=True, losses=["truncated"])

# --- Not RFC 822 -------------------------------------------------------------------

add("outlook-msg-binary", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 24 +
    b"\x3e\x00\x03\x00\xfe\xff" + b"\x00" * 200 +
    "idées suicidaires".encode("utf-16-le") + b"\x00" * 300,
    cls="Outlook .msg file", language="fr", refused=True)

add("binary-file", bytes(range(256)) * 8, cls="binary data", language="fr", refused=True)


def write():
    for name in os.listdir(HERE):
        if name.endswith((".eml", ".json")):
            os.remove(os.path.join(HERE, name))
    for name, raw, expect in CORPUS:
        with open(os.path.join(HERE, name + ".eml"), "wb") as handle:
            handle.write(raw)
        with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as handle:
            json.dump(expect, handle, ensure_ascii=False, indent=1)
            handle.write("\n")
    return len(CORPUS)


if __name__ == "__main__":
    print(f"{write()} messages written to {HERE}")
