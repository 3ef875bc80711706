"""Parsing and trimming of the .eml corpus: pure functions, no database."""

import datetime
import email

import pytest

from tests.mail import CORPUS, eml
from tickets.mail import parse
from tickets.mail.pipeline import local_part
from tickets.mail.trim import trim_reply


def _content(name):
    raw = eml(name)
    return parse.content(parse.parse(raw), raw)


def test_plain_text_is_preferred_over_html():
    body = _content("multipart_alternative.eml")
    assert body.text == "The zoning click rate shows 250% on the home page."
    assert "<b>250%</b>" in body.html


def test_html_only_is_sanitized_and_turned_into_text_with_line_breaks():
    body = _content("html_only_script.eml")
    assert "<script" not in body.html and "alert" not in body.html
    assert "onclick" not in body.html and "javascript:" not in body.html
    assert "The export button does nothing." in body.text
    assert "1. Open workspace\n2. Click Export" in body.text
    assert "alert" not in body.text and "color:red" not in body.text


def test_pdf_attachment_and_inline_image_are_both_extracted():
    body = _content("attachment_pdf_inline_image.eml")
    names = {a.name: a for a in body.attachments}
    assert names["replay-report.pdf"].data.startswith(b"%PDF")
    inline = [a for a in body.attachments if a.inline]
    assert len(inline) == 1 and inline[0].content_type == "image/png"
    assert inline[0].name.endswith(".png")
    assert body.text.startswith("The replay freezes after 3 seconds")


def test_forwarded_message_is_kept_as_an_eml_attachment_and_in_the_text():
    body = _content("forwarded.eml")
    assert "---------- Forwarded message ---------" in body.text
    assert [a.name for a in body.attachments] == ["attachment-2.eml"]
    assert b"Message-ID: <tom-orig-1@mail.acme.example>" in body.attachments[0].data


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iso8859_body.eml", "Impossible de se connecter à l'espace de travail depuis hier, même"),
        ("shiftjis_body.eml", "ヒートマップが表示されません。"),
    ],
)
def test_bodies_in_legacy_charsets_are_decoded(name, expected):
    assert expected in _content(name).text


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("rfc2047_subject_utf8.eml", "Relecture de session bloquée — écran noir"),
        ("rfc2047_subject_latin1.eml", "Données manquantes depuis le 1er mars"),
    ],
)
def test_rfc2047_subjects_are_decoded(name, subject):
    assert parse.envelope(eml(name)).subject == subject


def test_malformed_mime_falls_back_to_the_raw_body():
    body = _content("malformed_mime.eml")
    assert "The upload form returns an error 500." in body.text


def test_missing_message_id_is_keyed_by_the_digest_of_the_bytes():
    raw = eml("missing_message_id.eml")
    env = parse.envelope(raw)
    assert env.message_id == "" and env.key.startswith("sha256:") and len(env.key) == 71
    assert parse.envelope(raw + b"\r\n").key != env.key


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_reply.eml", "Auto-Submitted: auto-replied"),
        ("bounce.eml", "Auto-Submitted: auto-replied"),
        ("bulk.eml", "Precedence: bulk"),
        ("plain_new.eml", ""),
        ("unknown_sender.eml", ""),
    ],
)
def test_automatic_and_bulk_mail_is_recognised(name, reason):
    assert parse.envelope(eml(name)).auto_reason == reason


def test_a_bounce_is_recognised_without_an_auto_submitted_header():
    raw = eml("bounce.eml").replace(b"Auto-Submitted: auto-replied\r\n", b"")
    assert parse.envelope(raw).auto_reason == "delivery report (bounce)"
    assert "Auto-Submitted" not in raw.decode()


def test_list_id_alone_and_x_autoreply_mark_mail_as_automatic():
    base = eml("plain_new.eml")
    for header in (b"List-Id: <team.acme.example>\r\n", b"X-Autoreply: yes\r\n"):
        assert parse.envelope(header + base).auto_reason
    assert parse.envelope(b"Auto-Submitted: no\r\n" + base).auto_reason == ""
    # A request not to auto-reply is not itself an automatic message.
    assert parse.envelope(b"X-Auto-Response-Suppress: All\r\n" + base).auto_reason == ""


def test_noreply_senders_are_automatic():
    raw = eml("plain_new.eml").replace(b"alice@acme.example", b"no-reply@acme.example")
    assert parse.envelope(raw).auto_reason.startswith("automatic sender")


@pytest.mark.parametrize(
    "subject", ["URGENT: replay down", "P0 heatmaps", "Panne critique", "critical", "Urgence !"]
)
def test_priority_flags_in_subjects(subject):
    assert parse.priority_flag(subject)


@pytest.mark.parametrize("subject", ["P01 invoice", "urgently curious", "Heatmap question"])
def test_no_priority_flag_without_a_whole_word(subject):
    assert not parse.priority_flag(subject)


def test_outlook_reply_is_trimmed_at_original_message():
    text = _content("outlook_reply.eml").text
    assert trim_reply(text) == "It still happens after clearing the cache.\n\nAlice"


def test_gmail_reply_is_trimmed_at_a_wrapped_attribution_and_quotes():
    text = _content("gmail_reply.eml").text
    assert trim_reply(text) == "Here is the URL that fails: https://acme.example/pricing?v=2"


def test_french_reply_is_trimmed_at_signature_and_a_ecrit():
    trimmed = trim_reply(_content("french_reply.eml").text)
    assert (
        trimmed == "Bonjour,\n\nLe problème est toujours présent ce matin.\n\nCordialement,\nAlice"
    )


def test_outlook_from_sent_block_without_separator_is_trimmed():
    text = "Done, thanks.\n\nFrom: eService <support@x>\nSent: Tuesday\nTo: Alice\nSubject: hi"
    assert trim_reply(text) == "Done, thanks."


def test_trimming_never_leaves_an_empty_comment():
    assert trim_reply("> only a quote") == "> only a quote"


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("premier@x.example", "premier"),
        ("Premier+acme@Other.example", "premier"),
        ("SUPPORT@eservice.example", "support"),
    ],
)
def test_local_part_folds_case_and_plus_addressing(address, local):
    assert local_part(address) == local


def test_raw_utf8_and_unknown_charset_headers_do_not_break_parsing():
    raw = "Subject: café crème\r\nFrom: =?UTF-8?Q?Ren=C3=A9?= <r@x.example>\r\n\r\nhi".encode()
    env = parse.envelope(raw)
    assert (env.subject, env.from_name) == ("café crème", "René")
    assert parse.envelope(b"Subject: bad =?xx-unknown?Q?abc?= end\r\n\r\n").subject == "bad abc end"


def test_a_date_without_a_zone_is_read_as_utc():
    # RFC 5322's "-0000" (zone unknown) parses as a naive datetime; it is stored as UTC.
    raw = b"From: a@example.com\r\nDate: Mon, 1 Jan 2024 10:00:00 -0000\r\nSubject: x\r\n\r\nhi\r\n"
    date = parse.envelope(raw).date
    assert date == datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.UTC)


# --- the quick parse gives the standard parser's message --------------------------------

CORPUS_NAMES = sorted(p.name for p in CORPUS.glob("*.eml"))


def _structure(msg) -> list:
    return [
        (
            part.get_content_type(),
            part.items(),
            part.preamble,
            part.epilogue,
            [type(d).__name__ for d in part.defects],
            None if part.is_multipart() else part.get_payload(),
        )
        for part in msg.walk()
    ]


def _variants(raw: bytes) -> list[bytes]:
    lf = raw.replace(b"\r\n", b"\n")
    return [raw, lf, lf.replace(b"\n", b"\r\n")]


def _multipart(body_end: bytes = b"--b1--\r\n") -> bytes:
    return (
        b'From: a@x.example\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary="b1"\r\n'
        b"\r\npreamble\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
        b"--b2\r\nContent-Type: text/plain\r\n\r\nhello\r\n\r\n--b2--\r\n\r\n"
        b"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename=r.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" + body_end
    )


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_the_quick_parse_gives_the_standard_parsers_message(name):
    for raw in _variants(eml(name)):
        standard = email.message_from_bytes(raw)
        assert _structure(parse.parse(raw)) == _structure(standard)
        quick = parse.parse_quickly(raw.decode("ascii", "surrogateescape"))
        if quick is not None:
            assert _structure(quick) == _structure(standard)
        headers = parse.HEADER_PARSER.parsebytes(parse.head(raw))
        assert headers.items() == parse.HEADER_PARSER.parsebytes(raw).items()


@pytest.mark.parametrize(
    "raw",
    [
        _multipart(),
        _multipart(b"--b1--\r\nepilogue\r\n"),
        _multipart(b"--b1--"),
        _multipart(b"--b1--\r\n").replace(b"\r\n", b"\n"),
    ],
)
def test_a_well_formed_multipart_takes_the_quick_path_with_the_same_result(raw):
    quick = parse.parse_quickly(raw.decode("ascii"))
    assert quick is not None
    assert _structure(quick) == _structure(email.message_from_bytes(raw))
    assert parse.content(quick, raw).attachments[0].data == b"%PDF-1.4\n"


@pytest.mark.parametrize(
    "raw",
    [
        _multipart(b""),  # no closing boundary
        _multipart().replace(b"hello\r\n", b"hel\rlo\r\n"),  # a lone CR
        _multipart().replace(
            b"--b1\r\nContent-Type: application", b"--b1\r\n--b1\r\nContent-Type: application"
        ),
        b"Subject: s\r\nnot a header\r\n\r\nbody\r\n",
        b"\r\nno headers\r\n",
    ],
)
def test_anything_unusual_is_left_to_the_standard_parser(raw):
    assert parse.parse_quickly(raw.decode("ascii")) is None
    assert _structure(parse.parse(raw)) == _structure(email.message_from_bytes(raw))
