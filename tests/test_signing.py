import base64
import hashlib
import hmac

import pytest

from signin_webhooks.actors.signing import new_secret, sign, verify
from tests.helpers import event, header, subscribe

# The test vector published with the Standard Webhooks reference libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def reference_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The signature written out from the spec with the standard library alone."""
    key = base64.b64decode(secret[len("whsec_") :])
    message = webhook_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def test_signature_matches_the_published_standard_webhooks_vector():
    assert sign([VECTOR_SECRET], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_reference_computation_agrees_with_the_published_vector():
    computed = reference_signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    assert computed == VECTOR_SIGNATURE


def test_signature_matches_an_independent_computation_for_a_fresh_secret():
    secret = new_secret()
    body = b'[{"id":"e1","type":"signin.session.created"}]\n'
    expected = reference_signature(secret, "delivery-1", 1_700_000_000, body)
    assert sign([secret], "delivery-1", 1_700_000_000, body) == expected


def test_rotation_sends_one_signature_per_secret_space_separated():
    old, new = new_secret(), new_secret()
    header = sign([old, new], "d", 1, b"{}")
    assert header == " ".join(reference_signature(s, "d", 1, b"{}") for s in (old, new))
    assert verify(old, "d", 1, b"{}", header)
    assert verify(new, "d", 1, b"{}", header)


def test_new_secret_is_whsec_and_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :], validate=True)) == 32
    assert new_secret() != secret


def test_verify_accepts_the_vector_and_refuses_any_change():
    assert verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE)
    assert not verify(
        VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY + b" ", VECTOR_SIGNATURE
    )
    assert not verify(VECTOR_SECRET, "msg_other", VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE)
    assert not verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY, VECTOR_SIGNATURE)
    assert not verify(new_secret(), VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE)


def test_verify_finds_a_valid_signature_among_unknown_ones():
    header = "v2,abc v1,bm9wZQ== " + VECTOR_SIGNATURE
    assert verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, header)
    assert not verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, "")
    assert not verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, "v1,ünïcode")


def test_a_secret_that_is_not_base64_is_refused():
    with pytest.raises(ValueError, match="whsec_"):
        sign(["whsec_not base64!"], "d", 1, b"{}")


def test_a_rotation_without_grace_after_one_with_grace_signs_with_the_new_secret_alone(
    system, endpoints
):
    endpoint = endpoints()
    saved = subscribe(system, endpoint, max_events=1)
    sub_id = saved.subscription.id
    in_grace = system.subscriptions.rotate_secret(sub_id).secret  # 24h of grace
    new = system.subscriptions.rotate_secret(sub_id, grace=0).secret
    system.publish(event("after_the_leak"))
    (request,) = endpoint.wait_for(1)
    signatures = header(request, "webhook-signature").split()
    webhook_id, timestamp = header(request, "webhook-id"), int(header(request, "webhook-timestamp"))
    assert signatures == [sign([new], webhook_id, timestamp, request.body)]
    for old in (saved.secret, in_grace):
        assert old is not None
        assert not verify(old, webhook_id, timestamp, request.body, " ".join(signatures))
