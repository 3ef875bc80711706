from hypothesis import given
from hypothesis import strategies as st

from tickets.mail.reply_tokens import ReplyToken, make_token, read_token, reply_address


@given(st.integers(min_value=1, max_value=2**40), st.integers(min_value=1, max_value=2**40))
def test_a_reply_address_reads_back_as_its_user_and_ticket(user_id, ticket_id):
    address = reply_address("premier", "example.com", user_id=user_id, ticket_id=ticket_id)
    assert read_token(address) == ReplyToken(user_id, ticket_id)


def test_the_token_survives_an_upper_cased_local_part():
    address = reply_address("premier", "example.com", user_id=7, ticket_id=123)
    assert read_token(address.upper()) == ReplyToken(7, 123)


def test_a_token_for_one_ticket_cannot_be_moved_to_another():
    token = make_token(7, 123)
    user, _ticket, mac = token.split("-")
    forged = f"premier+{user}-3c-{mac}@example.com"  # ticket 123 → 120
    assert read_token(forged) is None


def test_addresses_without_a_valid_token_read_as_none():
    for address in (
        "premier@example.com",
        "premier+acme@example.com",
        "premier+r1-2-0000000000@example.com",
        "premier+r1-2@example.com",
        "premier+rzz!-2-abc@example.com",
        "",
    ):
        assert read_token(address) is None, address


def test_the_secret_key_signs_the_token(settings):
    address = reply_address("premier", "example.com", user_id=7, ticket_id=123)
    settings.SECRET_KEY = "another-key-" + "x" * 40
    assert read_token(address) is None
