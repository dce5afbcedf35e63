"""The tool-call case set: functions, and requests with the call each one should produce.

Our own set, in the style of public function-calling benchmarks' "simple" and "multiple"
categories: a *single* case offers one function and the request should call it with the
arguments stated in the request; a *multiple* case offers two to four functions and the model
must pick the right one as well. Every value the call needs is in the request, so the expected
answer is not a matter of opinion.

``expected`` maps each argument to the values accepted for it (strings compare after
normalisation, see ``scoring``); ``OMIT`` among them means the argument may be left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from inference.types import ToolSpec

OMIT: Any = None  # in an expected value list: the (optional) argument may be left out

Category = Literal["single", "multiple"]


def _fn(name: str, description: str, props: dict[str, Any], required: list[str]) -> ToolSpec:
    return ToolSpec(
        name, description, {"type": "object", "properties": props, "required": required}
    )


def _s(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


FUNCTIONS: dict[str, ToolSpec] = {
    f.name: f
    for f in (
        _fn(
            "get_weather",
            "Get the current weather for a city.",
            {
                "city": _s("the city name, e.g. Paris"),
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            ["city"],
        ),
        _fn(
            "convert_currency",
            "Convert an amount of money from one currency to another.",
            {
                "amount": {"type": "number", "description": "the amount to convert"},
                "from_currency": _s("three-letter code of the currency to convert from"),
                "to_currency": _s("three-letter code of the currency to convert to"),
            },
            ["amount", "from_currency", "to_currency"],
        ),
        _fn(
            "send_email",
            "Send an email to one recipient.",
            {
                "to": _s("the recipient's email address"),
                "subject": _s("the subject line"),
            },
            ["to", "subject"],
        ),
        _fn(
            "set_alarm",
            "Set an alarm at a time of day.",
            {"time": _s("the time in 24-hour HH:MM format"), "label": _s("a name for the alarm")},
            ["time"],
        ),
        _fn(
            "calculate_bmi",
            "Calculate the body mass index from weight and height.",
            {
                "weight_kg": {"type": "number", "description": "weight in kilograms"},
                "height_m": {"type": "number", "description": "height in metres"},
            },
            ["weight_kg", "height_m"],
        ),
        _fn(
            "search_flights",
            "Search for flights between two cities on a date.",
            {
                "origin": _s("the departure city"),
                "destination": _s("the arrival city"),
                "date": _s("the date as YYYY-MM-DD"),
            },
            ["origin", "destination", "date"],
        ),
        _fn(
            "translate_text",
            "Translate a text into another language.",
            {"text": _s("the text to translate"), "target_language": _s("the language name")},
            ["text", "target_language"],
        ),
        _fn(
            "get_stock_price",
            "Get the latest price of a stock by its ticker symbol.",
            {"symbol": _s("the ticker symbol, e.g. AAPL")},
            ["symbol"],
        ),
        _fn(
            "create_event",
            "Create a calendar event.",
            {
                "title": _s("the event title"),
                "date": _s("the date as YYYY-MM-DD"),
                "duration_minutes": {"type": "integer", "description": "length in minutes"},
            },
            ["title", "date", "duration_minutes"],
        ),
        _fn(
            "play_music",
            "Play a song.",
            {"song": _s("the song title"), "artist": _s("the artist")},
            ["song"],
        ),
        _fn(
            "book_table",
            "Book a table at a restaurant.",
            {
                "restaurant": _s("the restaurant name"),
                "party_size": {"type": "integer", "description": "number of people"},
                "time": _s("the time in 24-hour HH:MM format"),
            },
            ["restaurant", "party_size", "time"],
        ),
        _fn(
            "get_time",
            "Get the current time in a timezone.",
            {"timezone": _s("an IANA timezone name, e.g. Europe/Paris")},
            ["timezone"],
        ),
        _fn(
            "set_thermostat",
            "Set the thermostat's target temperature and mode.",
            {
                "temperature": {"type": "integer", "description": "degrees celsius"},
                "mode": {"type": "string", "enum": ["heat", "cool", "auto"]},
            },
            ["temperature", "mode"],
        ),
        _fn(
            "add_todo",
            "Add a task to the to-do list.",
            {
                "task": _s("what to do"),
                "priority": {"type": "string", "enum": ["low", "medium", "high"]},
            },
            ["task", "priority"],
        ),
        _fn(
            "factorial",
            "Compute the factorial of a non-negative integer.",
            {"n": {"type": "integer", "description": "the number"}},
            ["n"],
        ),
        _fn(
            "find_recipes",
            "Find recipes that use an ingredient.",
            {
                "ingredient": _s("the main ingredient"),
                "max_minutes": {"type": "integer", "description": "longest cooking time"},
            },
            ["ingredient"],
        ),
        _fn(
            "order_taxi",
            "Order a taxi from one address to another.",
            {"pickup": _s("the pickup address"), "destination": _s("the destination address")},
            ["pickup", "destination"],
        ),
        _fn(
            "check_order",
            "Check the delivery status of an order.",
            {"order_id": _s("the order number")},
            ["order_id"],
        ),
        _fn(
            "switch_light",
            "Turn the lights in a room on or off.",
            {"room": _s("the room"), "on": {"type": "boolean", "description": "true for on"}},
            ["room", "on"],
        ),
        _fn(
            "get_news",
            "Get the latest news headlines on a topic.",
            {
                "topic": _s("the topic"),
                "count": {"type": "integer", "description": "how many headlines", "default": 5},
            },
            ["topic"],
        ),
    )
}


@dataclass(frozen=True)
class Case:
    id: str
    category: Category
    prompt: str
    functions: tuple[str, ...]  # names of the functions offered, in order
    name: str  # the function that should be called
    expected: dict[str, list[Any]]  # argument -> accepted values (OMIT: may be left out)

    @property
    def tools(self) -> tuple[ToolSpec, ...]:
        return tuple(FUNCTIONS[f] for f in self.functions)


def _single(cid: str, prompt: str, name: str, **expected: list[Any]) -> Case:
    return Case(cid, "single", prompt, (name,), name, expected)


def _multi(cid: str, prompt: str, offered: str, name: str, **expected: list[Any]) -> Case:
    return Case(cid, "multiple", prompt, tuple(offered.split()), name, expected)


SINGLE: tuple[Case, ...] = (
    _single("s01", "What's the weather in Paris?", "get_weather", city=["Paris"], unit=[OMIT]),
    _single(
        "s02",
        "How warm is it in Madrid right now, in celsius?",
        "get_weather",
        city=["Madrid"],
        unit=["celsius", OMIT],
    ),
    _single(
        "s03",
        "Tell me the weather in Chicago in fahrenheit.",
        "get_weather",
        city=["Chicago"],
        unit=["fahrenheit"],
    ),
    _single(
        "s04",
        "Convert 100 US dollars to euros.",
        "convert_currency",
        amount=[100],
        from_currency=["USD"],
        to_currency=["EUR"],
    ),
    _single(
        "s05",
        "How many yen is 250 GBP?",
        "convert_currency",
        amount=[250],
        from_currency=["GBP"],
        to_currency=["JPY"],
    ),
    _single(
        "s06",
        "Email bob@example.com with the subject 'Lunch tomorrow'.",
        "send_email",
        to=["bob@example.com"],
        subject=["Lunch tomorrow"],
    ),
    _single(
        "s07",
        "Send an email to alice@corp.org, subject: Quarterly report.",
        "send_email",
        to=["alice@corp.org"],
        subject=["Quarterly report"],
    ),
    _single("s08", "Set an alarm for 07:30.", "set_alarm", time=["07:30"], label=[OMIT]),
    _single(
        "s09",
        "Wake me up at 06:15 with an alarm called gym.",
        "set_alarm",
        time=["06:15"],
        label=["gym"],
    ),
    _single(
        "s10",
        "What is the BMI of someone who weighs 70 kg and is 1.75 m tall?",
        "calculate_bmi",
        weight_kg=[70],
        height_m=[1.75],
    ),
    _single(
        "s11",
        "Calculate my BMI: weight 82.5 kg, height 1.8 m.",
        "calculate_bmi",
        weight_kg=[82.5],
        height_m=[1.8],
    ),
    _single(
        "s12",
        "Find flights from London to New York on 2025-03-14.",
        "search_flights",
        origin=["London"],
        destination=["New York"],
        date=["2025-03-14"],
    ),
    _single(
        "s13",
        "Search flights Berlin to Rome for 2025-07-01.",
        "search_flights",
        origin=["Berlin"],
        destination=["Rome"],
        date=["2025-07-01"],
    ),
    _single(
        "s14",
        "Translate 'good morning' into Spanish.",
        "translate_text",
        text=["good morning"],
        target_language=["Spanish"],
    ),
    _single(
        "s15",
        "Translate the text 'thank you very much' to German.",
        "translate_text",
        text=["thank you very much"],
        target_language=["German"],
    ),
    _single(
        "s16",
        "What is Apple's stock price? The ticker is AAPL.",
        "get_stock_price",
        symbol=["AAPL"],
    ),
    _single("s17", "Get the latest price for TSLA.", "get_stock_price", symbol=["TSLA"]),
    _single(
        "s18",
        "Create an event called Team sync on 2025-05-02 lasting 30 minutes.",
        "create_event",
        title=["Team sync"],
        date=["2025-05-02"],
        duration_minutes=[30],
    ),
    _single(
        "s19",
        "Add a 90 minute event 'Dentist' to my calendar on 2025-11-20.",
        "create_event",
        title=["Dentist"],
        date=["2025-11-20"],
        duration_minutes=[90],
    ),
    _single(
        "s20",
        "Play Yesterday by The Beatles.",
        "play_music",
        song=["Yesterday"],
        artist=["The Beatles", "Beatles"],
    ),
    _single("s21", "Play the song Imagine.", "play_music", song=["Imagine"], artist=[OMIT]),
    _single(
        "s22",
        "Book a table at Luigi's for 4 people at 19:30.",
        "book_table",
        restaurant=["Luigi's", "Luigis"],
        party_size=[4],
        time=["19:30"],
    ),
    _single(
        "s23",
        "Reserve a table for 2 at Sakura at 20:00.",
        "book_table",
        restaurant=["Sakura"],
        party_size=[2],
        time=["20:00"],
    ),
    _single("s24", "What time is it in Europe/Paris?", "get_time", timezone=["Europe/Paris"]),
    _single(
        "s25",
        "Tell me the current time in the Asia/Tokyo timezone.",
        "get_time",
        timezone=["Asia/Tokyo"],
    ),
    _single(
        "s26",
        "Set the thermostat to 21 degrees on heat.",
        "set_thermostat",
        temperature=[21],
        mode=["heat"],
    ),
    _single(
        "s27",
        "Cool the house to 18 degrees.",
        "set_thermostat",
        temperature=[18],
        mode=["cool"],
    ),
    _single(
        "s28",
        "Add 'buy milk' to my to-do list with high priority.",
        "add_todo",
        task=["buy milk"],
        priority=["high"],
    ),
    _single(
        "s29",
        "Add a low priority task: water the plants.",
        "add_todo",
        task=["water the plants"],
        priority=["low"],
    ),
    _single("s30", "What is the factorial of 5?", "factorial", n=[5]),
    _single("s31", "Compute 10 factorial.", "factorial", n=[10]),
    _single(
        "s32",
        "Find recipes with chicken.",
        "find_recipes",
        ingredient=["chicken"],
        max_minutes=[OMIT],
    ),
    _single(
        "s33",
        "Find me a recipe using tofu that takes at most 20 minutes.",
        "find_recipes",
        ingredient=["tofu"],
        max_minutes=[20],
    ),
    _single(
        "s34",
        "Order a taxi from 10 Main Street to the airport.",
        "order_taxi",
        pickup=["10 Main Street"],
        destination=["the airport", "airport"],
    ),
    _single(
        "s35",
        "Get me a cab from Central Station to 5 Park Lane.",
        "order_taxi",
        pickup=["Central Station"],
        destination=["5 Park Lane"],
    ),
    _single("s36", "Where is my order 48213?", "check_order", order_id=["48213"]),
    _single("s37", "Check the status of order A-1093.", "check_order", order_id=["A-1093"]),
    _single(
        "s38",
        "Turn on the lights in the kitchen.",
        "switch_light",
        room=["kitchen", "the kitchen"],
        on=[True],
    ),
    _single(
        "s39",
        "Switch off the bedroom lights.",
        "switch_light",
        room=["bedroom", "the bedroom"],
        on=[False],
    ),
    _single(
        "s40",
        "Show me 3 news headlines about football.",
        "get_news",
        topic=["football"],
        count=[3],
    ),
)

MULTIPLE: tuple[Case, ...] = (
    _multi(
        "m01",
        "What's the weather like in Oslo?",
        "get_weather get_time get_news",
        "get_weather",
        city=["Oslo"],
        unit=[OMIT],
    ),
    _multi(
        "m02",
        "What time is it in America/New_York?",
        "get_weather get_time get_news",
        "get_time",
        timezone=["America/New_York"],
    ),
    _multi(
        "m03",
        "Give me 5 headlines about science.",
        "get_weather get_time get_news",
        "get_news",
        topic=["science"],
        count=[5],
    ),
    _multi(
        "m04",
        "Convert 50 EUR to USD.",
        "convert_currency get_stock_price calculate_bmi",
        "convert_currency",
        amount=[50],
        from_currency=["EUR"],
        to_currency=["USD"],
    ),
    _multi(
        "m05",
        "What is the share price of MSFT?",
        "convert_currency get_stock_price calculate_bmi",
        "get_stock_price",
        symbol=["MSFT"],
    ),
    _multi(
        "m06",
        "My weight is 60 kg and my height is 1.65 m. What's my BMI?",
        "convert_currency get_stock_price calculate_bmi",
        "calculate_bmi",
        weight_kg=[60],
        height_m=[1.65],
    ),
    _multi(
        "m07",
        "Send an email to carol@example.com with the subject 'Invoice'.",
        "send_email set_alarm add_todo",
        "send_email",
        to=["carol@example.com"],
        subject=["Invoice"],
    ),
    _multi(
        "m08",
        "Set an alarm for 05:45.",
        "send_email set_alarm add_todo",
        "set_alarm",
        time=["05:45"],
        label=[OMIT],
    ),
    _multi(
        "m09",
        "Add a medium priority task to call the bank.",
        "send_email set_alarm add_todo",
        "add_todo",
        task=["call the bank"],
        priority=["medium"],
    ),
    _multi(
        "m10",
        "Find flights from Paris to Madrid on 2025-09-10.",
        "search_flights order_taxi book_table",
        "search_flights",
        origin=["Paris"],
        destination=["Madrid"],
        date=["2025-09-10"],
    ),
    _multi(
        "m11",
        "Order a taxi from the hotel to the museum.",
        "search_flights order_taxi book_table",
        "order_taxi",
        pickup=["the hotel", "hotel"],
        destination=["the museum", "museum"],
    ),
    _multi(
        "m12",
        "Book a table for 6 at Chez Marie at 18:00.",
        "search_flights order_taxi book_table",
        "book_table",
        restaurant=["Chez Marie"],
        party_size=[6],
        time=["18:00"],
    ),
    _multi(
        "m13",
        "Translate 'where is the station' into French.",
        "translate_text play_music get_news",
        "translate_text",
        text=["where is the station"],
        target_language=["French"],
    ),
    _multi(
        "m14",
        "Play Hallelujah by Leonard Cohen.",
        "translate_text play_music get_news",
        "play_music",
        song=["Hallelujah"],
        artist=["Leonard Cohen"],
    ),
    _multi(
        "m15",
        "Latest news about elections, please.",
        "translate_text play_music get_news",
        "get_news",
        topic=["elections"],
        count=[OMIT],
    ),
    _multi(
        "m16",
        "Set the heating to 23 degrees.",
        "set_thermostat switch_light play_music",
        "set_thermostat",
        temperature=[23],
        mode=["heat"],
    ),
    _multi(
        "m17",
        "Turn off the lights in the living room.",
        "set_thermostat switch_light play_music",
        "switch_light",
        room=["living room", "the living room"],
        on=[False],
    ),
    _multi(
        "m18",
        "Play Bohemian Rhapsody.",
        "set_thermostat switch_light play_music",
        "play_music",
        song=["Bohemian Rhapsody"],
        artist=[OMIT, "Queen"],
    ),
    _multi(
        "m19",
        "What is 7 factorial?",
        "factorial calculate_bmi convert_currency",
        "factorial",
        n=[7],
    ),
    _multi(
        "m20",
        "Find recipes with potatoes.",
        "find_recipes book_table add_todo",
        "find_recipes",
        ingredient=["potatoes", "potato"],
        max_minutes=[OMIT],
    ),
    _multi(
        "m21",
        "Reserve a table at Nobu for 3 people at 21:15.",
        "find_recipes book_table add_todo",
        "book_table",
        restaurant=["Nobu"],
        party_size=[3],
        time=["21:15"],
    ),
    _multi(
        "m22",
        "Add 'renew passport' to my to-do list, high priority.",
        "find_recipes book_table add_todo",
        "add_todo",
        task=["renew passport"],
        priority=["high"],
    ),
    _multi(
        "m23",
        "Check the status of my order 77120.",
        "check_order order_taxi send_email",
        "check_order",
        order_id=["77120"],
    ),
    _multi(
        "m24",
        "Get me a taxi from 22 Baker Street to King's Cross.",
        "check_order order_taxi send_email",
        "order_taxi",
        pickup=["22 Baker Street"],
        destination=["King's Cross", "Kings Cross"],
    ),
    _multi(
        "m25",
        "Email dave@example.net with the subject 'Meeting moved'.",
        "check_order order_taxi send_email",
        "send_email",
        to=["dave@example.net"],
        subject=["Meeting moved"],
    ),
    _multi(
        "m26",
        "Create an event 'Board meeting' on 2025-06-30 for 60 minutes.",
        "create_event set_alarm get_time",
        "create_event",
        title=["Board meeting"],
        date=["2025-06-30"],
        duration_minutes=[60],
    ),
    _multi(
        "m27",
        "Set an alarm at 22:00 labelled bedtime.",
        "create_event set_alarm get_time",
        "set_alarm",
        time=["22:00"],
        label=["bedtime"],
    ),
    _multi(
        "m28",
        "What's the time in Australia/Sydney?",
        "create_event set_alarm get_time",
        "get_time",
        timezone=["Australia/Sydney"],
    ),
    _multi(
        "m29",
        "Is it cold in Helsinki? Give me the weather in celsius.",
        "get_weather set_thermostat find_recipes get_news",
        "get_weather",
        city=["Helsinki"],
        unit=["celsius"],
    ),
    _multi(
        "m30",
        "Set the thermostat to 20 degrees in auto mode.",
        "get_weather set_thermostat find_recipes get_news",
        "set_thermostat",
        temperature=[20],
        mode=["auto"],
    ),
    _multi(
        "m31",
        "Find a recipe with rice that takes at most 30 minutes.",
        "get_weather set_thermostat find_recipes get_news",
        "find_recipes",
        ingredient=["rice"],
        max_minutes=[30],
    ),
    _multi(
        "m32",
        "Two headlines about the stock market.",
        "get_weather set_thermostat find_recipes get_news",
        "get_news",
        topic=["stock market", "the stock market"],
        count=[2],
    ),
    _multi(
        "m33",
        "Translate 'happy birthday' to Italian.",
        "translate_text send_email",
        "translate_text",
        text=["happy birthday"],
        target_language=["Italian"],
    ),
    _multi(
        "m34",
        "Email erin@example.com, subject 'Happy birthday'.",
        "translate_text send_email",
        "send_email",
        to=["erin@example.com"],
        subject=["Happy birthday"],
    ),
    _multi(
        "m35",
        "Price of the NVDA stock?",
        "get_stock_price check_order",
        "get_stock_price",
        symbol=["NVDA"],
    ),
    _multi(
        "m36",
        "Has order B-552 shipped yet?",
        "get_stock_price check_order",
        "check_order",
        order_id=["B-552"],
    ),
    _multi(
        "m37",
        "Fly me from Tokyo to Seoul on 2025-12-24.",
        "search_flights get_weather create_event",
        "search_flights",
        origin=["Tokyo"],
        destination=["Seoul"],
        date=["2025-12-24"],
    ),
    _multi(
        "m38",
        "Turn the lights on in the garage.",
        "switch_light set_alarm",
        "switch_light",
        room=["garage", "the garage"],
        on=[True],
    ),
    _multi(
        "m39",
        "Convert 1200 JPY to GBP.",
        "factorial convert_currency get_stock_price",
        "convert_currency",
        amount=[1200],
        from_currency=["JPY"],
        to_currency=["GBP"],
    ),
    _multi(
        "m40",
        "What's 12 factorial?",
        "factorial convert_currency get_stock_price",
        "factorial",
        n=[12],
    ),
)

CASES: tuple[Case, ...] = SINGLE + MULTIPLE
