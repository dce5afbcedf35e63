"""The tool-call eval: its case set is well-formed, its AST scorer judges as documented, and on
a handful of cases agenthost's path scores at least as well as raw llama-cpp-python."""

from __future__ import annotations

import jsonschema
import pytest

from evals.toolcalls.cases import CASES, FUNCTIONS, MULTIPLE, OMIT, SINGLE, Case
from evals.toolcalls.run import _spread, raw_schema, raw_system_prompt, run_eval, table
from evals.toolcalls.scoring import normalise_string, score_call, values_equal

# ---- the case set -----------------------------------------------------------------------


def test_case_set_size_and_categories() -> None:
    assert len(CASES) >= 60
    assert len(SINGLE) >= 30
    assert len(MULTIPLE) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.prompt for c in CASES}) == len(CASES)
    assert all(len(c.functions) == 1 for c in SINGLE)
    assert all(2 <= len(c.functions) <= 4 for c in MULTIPLE)
    # every function is the right answer somewhere, and some are distractors elsewhere
    assert {c.name for c in CASES} == set(FUNCTIONS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_is_well_formed(case: Case) -> None:
    assert case.name in case.functions
    assert len(set(case.functions)) == len(case.functions)
    spec = FUNCTIONS[case.name]
    jsonschema.Draft202012Validator.check_schema(spec.parameters)
    properties = spec.parameters["properties"]
    assert set(case.expected) == set(properties), "every argument has its accepted values"
    for name in spec.parameters["required"]:
        assert OMIT not in case.expected[name], f"required {name} cannot be omitted"
    for name, accepted in case.expected.items():
        assert accepted, name
        for value in accepted:
            if value is not OMIT:
                jsonschema.validate(value, properties[name])
    ideal = {k: v[0] for k, v in case.expected.items() if v[0] is not OMIT}
    assert score_call(case, case.name, ideal).ok


def test_spread_alternates_categories() -> None:
    first = _spread(CASES, 6)
    assert [c.category for c in first] == ["single", "multiple"] * 3
    assert len(_spread(CASES, 1000)) == len(CASES)


def test_raw_baseline_describes_every_function_and_constrains_the_name() -> None:
    case = next(c for c in MULTIPLE if len(c.functions) == 3)
    prompt = raw_system_prompt(case.tools)
    assert all(f in prompt for f in case.functions)
    schema = raw_schema(case.tools)
    names = [b["properties"]["name"]["const"] for b in schema["anyOf"]]
    assert names == list(case.functions)
    ideal = {k: v[0] for k, v in case.expected.items() if v[0] is not OMIT}
    jsonschema.validate({"name": case.name, "arguments": ideal}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "no_such_function", "arguments": ideal}, schema)


# ---- the scorer -------------------------------------------------------------------------

WEATHER_CASE = Case(
    "t1",
    "single",
    "Weather in Paris in celsius?",
    ("get_weather",),
    "get_weather",
    {"city": ["Paris"], "unit": ["celsius", OMIT]},
)
BMI_CASE = Case(
    "t2",
    "multiple",
    "BMI for 70 kg, 1.75 m",
    ("calculate_bmi", "factorial"),
    "calculate_bmi",
    {"weight_kg": [70], "height_m": [1.75]},
)
LIGHT_CASE = Case(
    "t3",
    "single",
    "lights on",
    ("switch_light",),
    "switch_light",
    {"room": ["kitchen"], "on": [True]},
)


def test_name_must_match_exactly() -> None:
    assert not score_call(BMI_CASE, "factorial", {"n": 5}).ok
    assert not score_call(BMI_CASE, "Calculate_BMI", {"weight_kg": 70, "height_m": 1.75}).ok
    assert score_call(BMI_CASE, None, None).reason == "no call"


def test_required_arguments_must_be_present() -> None:
    verdict = score_call(BMI_CASE, "calculate_bmi", {"weight_kg": 70})
    assert not verdict.ok
    assert "height_m" in verdict.reason


def test_unexpected_arguments_fail() -> None:
    verdict = score_call(WEATHER_CASE, "get_weather", {"city": "Paris", "country": "France"})
    assert not verdict.ok
    assert verdict.reason.startswith("unexpected argument")


def test_optional_arguments_may_be_omitted_only_when_allowed() -> None:
    assert score_call(WEATHER_CASE, "get_weather", {"city": "Paris"}).ok
    assert score_call(WEATHER_CASE, "get_weather", {"city": "Paris", "unit": "celsius"}).ok
    assert not score_call(WEATHER_CASE, "get_weather", {"city": "Paris", "unit": "kelvin"}).ok
    unmentioned = Case(
        "t5", "single", "x", ("get_weather",), "get_weather", {"city": ["Paris"], "unit": [OMIT]}
    )
    # get_weather declares unit's default: writing it is the same call as leaving it out
    assert score_call(unmentioned, "get_weather", {"city": "Paris", "unit": "celsius"}).ok
    assert not score_call(unmentioned, "get_weather", {"city": "Paris", "unit": "fahrenheit"}).ok
    strict = Case(
        "t4",
        "single",
        "x",
        ("get_weather",),
        "get_weather",
        {"city": ["Paris"], "unit": ["celsius"]},
    )
    assert not score_call(strict, "get_weather", {"city": "Paris"}).ok


def test_values_are_normalised_by_type() -> None:
    assert score_call(BMI_CASE, "calculate_bmi", {"weight_kg": 70.0, "height_m": 1.75}).ok
    assert not score_call(BMI_CASE, "calculate_bmi", {"weight_kg": "70", "height_m": 1.75}).ok
    assert not score_call(BMI_CASE, "calculate_bmi", {"weight_kg": 71, "height_m": 1.75}).ok
    assert score_call(WEATHER_CASE, "get_weather", {"city": "  paris. "}).ok
    assert not score_call(WEATHER_CASE, "get_weather", {"city": "Pariss"}).ok
    assert score_call(LIGHT_CASE, "switch_light", {"room": "Kitchen", "on": True}).ok
    assert not score_call(LIGHT_CASE, "switch_light", {"room": "kitchen", "on": 1}).ok
    assert not score_call(LIGHT_CASE, "switch_light", {"room": "kitchen", "on": "true"}).ok


def test_values_equal_edge_cases() -> None:
    assert values_equal(1, 1.0)
    assert not values_equal(True, 1)
    assert not values_equal(1, True)
    assert values_equal(["A", 2], ["a", 2.0])
    assert not values_equal(["a"], ["a", "b"])
    assert values_equal({"k": "V"}, {"k": "v"})
    assert not values_equal({"k": "v"}, {"j": "v"})
    assert normalise_string(" 'Good   Morning!' ") == "good morning"
    assert normalise_string("King's Cross") == "king's cross"


def test_arguments_must_be_an_object() -> None:
    assert not score_call(BMI_CASE, "calculate_bmi", [70, 1.75]).ok


# ---- on the real model ------------------------------------------------------------------


@pytest.mark.realmodel
@pytest.mark.anyio
async def test_agenthost_scores_at_least_raw_on_a_handful() -> None:
    cases = _spread(CASES, 6)
    ours, raw = await run_eval(cases, progress=False)
    correct, n = ours.accuracy()
    raw_correct, _ = raw.accuracy()
    assert n == len(cases)
    assert correct >= raw_correct, table([ours, raw])
