"""Each route's kintone client is made once per container."""

from sekisho.kintone.clients import ClientsByToken


def test_one_client_is_made_per_token_secret_and_then_reused():
    made = []
    clients = ClientsByToken(lambda name: made.append(name) or object())
    assert clients("a") is clients("a")
    assert clients("b") is not clients("a")
    assert made == ["a", "b"]
