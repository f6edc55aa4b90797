"""The reply parser copes with what models really write; a reply with nothing usable is refused."""
import pytest

from pipeline.parsing import Item, UnparsableReply, parse_questions, parse_triggers


def texts(reply):
    return [i.text for i in parse_triggers(reply)]


def test_numbered_list_with_preamble_markdown_and_continuation_lines():
    reply = ("Sure! Here are the triggers:\n\n1. **Winning the match** [Sports; explicit]\n"
             "2) She hugs her teammate,\n   who is crying with joy (Social Interactions, explicit)\n"
             "3. The crowd cheers in the background [atmosphere; implicit].\n")
    items = parse_triggers(reply)
    assert items == [
        Item("Winning the match", "Sports", True),
        Item("She hugs her teammate, who is crying with joy", "Social Interactions", True),
        Item("The crowd cheers in the background", "Atmosphere", False),
    ]
    assert [i.kind for i in items] == ["social", "social", "env"]


def test_bullets_inline_numbering_and_plain_sentences():
    assert texts("- a smile\n* raised arms\n• a trophy") == ["a smile", "raised arms", "a trophy"]
    assert texts("1. a smile 2. raised arms 3. a trophy") == ["a smile", "raised arms", "a trophy"]
    assert texts("Trigger 1: his team won") == ["his team won"]
    assert texts("street arms jumps face new excited person") == ["street arms jumps face new excited person"]


def test_unknown_bracket_is_kept_as_text():
    assert parse_triggers("1. a gift (wrapped in red paper)") == [Item("a gift (wrapped in red paper)")]


@pytest.mark.parametrize("reply", ["", "   \n ", "```\n```", "1. \n2. **", "-- : --",
                                   "I'm sorry, but I can't identify people.", "As an AI, I cannot tell."])
def test_nothing_usable_is_unparsable(reply):
    with pytest.raises(UnparsableReply, match="no trigger list"):
        parse_triggers(reply)


def test_questions_limit():
    assert parse_questions("1. Who? 2. Where? 3. Why?", 2) == ["Who?", "Where?"]
    assert parse_questions("") == []
