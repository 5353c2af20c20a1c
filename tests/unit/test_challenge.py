"""WWW-Authenticate: the parser (RFC 9110 §11.6.1, RFC 6750 §3) and the one rule that reads a
response's challenges (RFC 9449 §7.1, RFC 9728 §5.1), as discovery, the client and doctor use it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_mcp_cli.challenge import ChallengeParseError, Challenges, parse_www_authenticate
from authkit_mcp_cli.errors import ProtocolError


def test_the_guides_header_as_printed():
    # The integration guide folds it over three lines; servers send it on one.
    header = 'Bearer error="unauthorized", \n                  error_description="Authorization needed",\n                  resource_metadata="https://atomcp.kooshapari.com/.well-known/oauth-protected-resource"'
    bearer = Challenges.read(401, " ".join(header.split())).bearer
    assert bearer.params == {
        "error": "unauthorized",
        "error_description": "Authorization needed",
        "resource_metadata": "https://atomcp.kooshapari.com/.well-known/oauth-protected-resource",
    }


def test_the_sdk_header():
    value = 'Bearer error="invalid_token", error_description="Authentication required", resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/api/mcp"'
    bearer = Challenges.read(401, value).bearer
    assert bearer.get("error") == "invalid_token"
    assert bearer.get("RESOURCE_METADATA").endswith("/api/mcp")


def test_several_challenges_commas_in_quotes_and_odd_spacing():
    value = 'Basic realm="a, b", Bearer  scope = "read write",error=invalid_token ,  resource_metadata="https://x/y?a=1,2", Negotiate abc=='
    chs = parse_www_authenticate(value)
    assert [c.scheme for c in chs] == ["Basic", "Bearer", "Negotiate"]
    assert chs[0].params == {"realm": "a, b"}
    assert chs[1].params == {"scope": "read write", "error": "invalid_token", "resource_metadata": "https://x/y?a=1,2"}
    assert chs[2].token68 == "abc=="


def test_bare_scheme_and_multiple_header_values():
    chs = parse_www_authenticate(["Bearer", 'DPoP algs="ES256"'])
    assert [c.scheme for c in chs] == ["Bearer", "DPoP"]
    assert chs[0].params == {}


def test_escaped_quotes():
    bearer = Challenges.read(401, r'Bearer error_description="say \"hi\" \\ now"').bearer
    assert bearer.get("error_description") == 'say "hi" \\ now'


def test_duplicates_are_recorded():
    bearer = Challenges.read(401, 'Bearer scope="a", scope="b"').bearer
    assert bearer.get("scope") == "a" and bearer.duplicate_params == ["scope"]


@pytest.mark.parametrize("value", ['Bearer realm="open', 'Bearer a="b", =c', '"quoted"', "Bearer a=b c"])
def test_malformed_values_raise_our_error(value):
    with pytest.raises(ChallengeParseError) as info:
        parse_www_authenticate(value)
    assert info.value.spec == "RFC 9110 §11.6.1"


def test_huge_header_is_refused():
    with pytest.raises(ChallengeParseError, match="characters long"):
        parse_www_authenticate("Bearer realm=" + "a" * 70_000)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_only_our_error(text):
    try:
        parse_www_authenticate(text)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=5))
def test_quoted_params_round_trip(params):
    value = "Bearer " + ", ".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in params.items())
    assert Challenges.read(401, value).bearer.params == params


# --- the one rule (challenge.py's docstring) ---------------------------------------------

RS = "https://rs.example/mcp"
PRM = "https://rs.example/.well-known/oauth-protected-resource/mcp"


def test_a_dpop_challenge_is_read_like_a_bearer_one():
    refused = Challenges.read(401, [f'DPoP error="invalid_token", resource_metadata="{PRM}"']).refusal(RS)
    assert refused.error == "invalid_token" and refused.resource_metadata == PRM and refused.url == RS


def test_of_a_dpop_and_a_bearer_challenge_the_one_with_the_error_answers():
    """serve (and RFC 9449 §7.1's examples) send both; a bad proof is named in the DPoP one only."""
    both = Challenges.read(401, ['DPoP error="invalid_dpop_proof", error_description="htu does not match", algs="ES256"', f'Bearer resource_metadata="{PRM}", scope="mcp:tools"'])
    assert both.selected is both.offered[0]
    assert (both.error, both.error_description, both.resource_metadata, both.scope) == ("invalid_dpop_proof", "htu does not match", PRM, "mcp:tools")
    refused = Challenges.read(401, ['DPoP algs="ES256"', f'Bearer error="invalid_token", resource_metadata="{PRM}"']).refusal(RS)
    assert refused.error == "invalid_token" and refused.resource_metadata == PRM
    refused = Challenges.read(403, [f'Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="{PRM}"']).refusal(RS)
    assert (refused.status, refused.error, refused.scope) == (403, "insufficient_scope", "mcp:admin")


def test_without_an_error_bearer_is_selected_and_hints_come_from_either():
    answer = Challenges.read(401, 'DPoP algs="ES256", scope="from-dpop", Bearer resource_metadata="https://a/prm"')
    assert answer.selected is answer.bearer and answer.error is None
    assert (answer.resource_metadata, answer.scope) == ("https://a/prm", "from-dpop")  # the selected one first, then the others
    assert Challenges.read(401, 'Bearer scope="b", DPoP scope="d"').scope == "b"
    only_dpop = Challenges.read(401, 'DPoP algs="ES256", resource_metadata="https://a/prm"')
    assert only_dpop.selected is only_dpop.offered[0] and only_dpop.resource_metadata == "https://a/prm"


def test_error_and_description_are_never_mixed_across_challenges():
    answer = Challenges.read(401, 'Bearer error_description="stale", DPoP error="use_dpop_nonce"')
    assert (answer.error, answer.error_description) == ("use_dpop_nonce", None)


def test_other_schemes_are_listed_not_read():
    answer = Challenges.read(401, 'Basic realm="x", error="invalid_token", scope="s", Negotiate abc==')
    assert [c.scheme for c in answer.offered] == ["Basic", "Negotiate"]
    assert (answer.selected, answer.error, answer.scope, answer.bearer) == (None, None, None, None)


def test_a_malformed_header_reads_as_no_challenge_and_says_why():
    answer = Challenges.read(401, 'Bearer scope="unterminated')
    assert answer.offered == () and answer.selected is None and "unterminated" in (answer.parse_error or "")
    assert answer.refusal(RS).error is None and answer.refusal(RS).www_authenticate == ('Bearer scope="unterminated',)


def test_the_refusal_keeps_the_header_so_discovery_reads_the_same_answer():
    header = ['DPoP error="invalid_token"', f'Bearer resource_metadata="{PRM}", scope="a b"']
    refused = Challenges.read(401, header).refusal(RS)
    again = Challenges.read(refused.status, refused.www_authenticate)
    assert (again.status, again.error, again.resource_metadata, again.scope) == (401, refused.error, refused.resource_metadata, refused.scope) == (401, "invalid_token", PRM, "a b")
