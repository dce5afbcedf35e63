"""The golden retrieval set: questions about Python's language reference, the ``pydoc_data``
topics that ship with every CPython (79 sections, ~465k characters of real documentation).

Each answerable question names the topic that answers it and a phrase quoted verbatim from
the passage with the answer: relevant chunks are those of that topic containing the phrase
(whitespace-normalised), so the labels do not depend on how the corpus is chunked.
The unanswerable questions are outside the reference; the right response is a refusal."""

# ruff: noqa: E501 - a data table: one question per line reads better than wrapped

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    topic: str
    evidence: str


ANSWERABLE: list[Question] = [
    Question(q, t, topic, ev)
    for q, (t, topic, ev) in (
        (f"q{i:02d}", row)
        for i, row in enumerate(
            [
                ("What does the assert statement do when optimization is requested with -O?",
                 "assert", "emits no code for an assert statement when optimization is requested"),
                ("Which exception does a failed assert raise?", "assert", "AssertionError"),
                ("What does the pass statement do?", "pass", "null operation"),
                ("What happens to a variable after the del statement deletes the name?",
                 "del", "Deletion of a name removes the binding"),
                ("Can a return statement appear outside a function definition?",
                 "return", "nested in a function definition"),
                ("In a generator, what does a return statement raise?", "return",
                 "StopIteration"),
                ("How does the nonlocal statement differ from global?", "nonlocal",
                 "nearest enclosing"),
                ("Does the global statement apply to code passed to exec()?", "global",
                 "exec()"),
                ("When is the else clause of a for loop executed?", "for",
                 "the suite in the \"else\" clause, if present, is executed"),
                ("What does break do inside a loop with an else clause?", "break",
                 "terminates the nearest enclosing loop"),
                ("Where may the continue statement appear?", "continue",
                 "nested in a \"for\" or \"while\" loop"),
                ("What is the order of evaluation when a while loop has an else clause?",
                 "while", "repeatedly tests the expression"),
                ("How does Python pick which branch of an if statement to run?", "if",
                 "evaluating the expressions one by one until one is found to be true"),
                ("Which method of the context manager is invoked at the start of a with block?",
                 "with", "__enter__()"),
                ("What are the arguments passed to __exit__ when an exception occurred?",
                 "with", "its type, value, and traceback are passed as arguments"),
                ("What does the finally clause do when the try suite returns a value?",
                 "try",
                 "a \"return\" statement executed in the \"finally\" clause will always be the last one executed"),
                ("What is an except* clause used for?", "try", "exception groups"),
                ("How do you re-raise the exception currently being handled?", "raise",
                 "re-raises the exception that is currently being handled"),
                ("What does raise X from Y set on the new exception?", "raise", "__cause__"),
                ("How does import find and load a module?", "import",
                 "find a module, loading and initializing it if necessary"),
                ("What does from module import * import when __all__ is defined?", "import",
                 "__all__"),
                ("What is a future statement?", "import",
                 "directive to the compiler"),
                ("What does a lambda expression create?", "lambda", "anonymous functions"),
                ("Can a lambda contain statements or annotations?", "lambda",
                 "cannot contain statements or annotations"),
                ("When are default parameter values evaluated?", "function",
                 "Default parameter values are evaluated from left to right"),
                ("What does a function decorator do?", "function", "decorator"),
                ("How is a class definition executed?", "class",
                 "The class’s suite is then executed in a new execution frame"),
                ("How are the arguments of a function call matched to parameters?", "calls",
                 "unfilled slots"),
                ("What does the yield expression do in a function body?", "yield",
                 "generator function"),
                ("What does await do?", "await", "Suspend the execution of *coroutine* on an *awaitable* object"),
                ("What is the syntax of an async for statement?", "async",
                 "asynchronous iterable"),
                ("What values are considered false in a Boolean context?", "truth",
                 "constants defined to be false: \"None\" and \"False\""),
                ("Does the expression x or y always return a bool?", "booleans",
                 "return the last evaluated argument"),
                ("How do chained comparisons like a < b < c work?", "comparisons",
                 "x < y and y <= z"),
                ("How does the in operator test membership in a dictionary?", "comparisons",
                 "tests whether the dictionary has a given key"),
                ("What does the is operator compare?", "comparisons", "test for an object’s identity"),
                ("Which operator has the highest precedence?", "operator-summary",
                 "highest precedence"),
                ("What is the result of the power operator with a negative exponent on ints?",
                 "power", "float"),
                ("How does floor division round results?", "binary",
                 "floor division of integers results in an integer"),
                ("What does the @ operator do?", "binary", "matrix multiplication"),
                ("What do shifting operations do to an integer?", "shifting",
                 "pow(2,n)"),
                ("What does the unary ~ operator compute?", "unary", "bitwise inversion"),
                ("What is an augmented assignment statement?", "augassign",
                 "combination, in a single statement, of a binary operation and an assignment"),
                ("How does slicing with a step work on sequences?", "slicings", "slice"),
                ("How are integer literals written in hexadecimal?", "integers", "0x"),
                ("How do you write an imaginary literal?", "imaginary", "j"),
                ("What does the format specification mini-language fill character do?",
                 "formatstrings", "fill ::= <any character>"),
                ("How can a format string refer to attributes of its arguments?",
                 "formatstrings", "\".\" attribute_name"),
                ("What does str.strip() remove?", "string-methods", "leading and trailing"),
                ("What does str.split() do with no separator?", "string-methods",
                 "runs of consecutive whitespace"),
                ("What does the dict.get method return when the key is missing?",
                 "typesmapping",
                 "Return the value for *key* if *key* is in the dictionary, else *default*"),
                ("Which method removes and returns the last inserted key-value pair of a dict?",
                 "typesmapping", "popitem()"),
                ("What does list.sort accept as key?", "typesseq", "sort(*, key=None, reverse=False)"),
                ("Which constructs bind names in Python?", "naming",
                 "The following constructs bind names"),
                ("How is the scope of a name in a class block handled?", "naming",
                 "class block"),
                ("What does __init__ do when an instance is created?", "customization",
                 "Called after the instance has been created (by \"__new__()\")"),
                ("Which method is called to compute the hash of an object?", "customization",
                 "Called by built-in function \"hash()\""),
                ("What does __getattr__ get called for?", "attribute-access",
                 "default attribute access fails"),
                ("What is the purpose of __slots__?", "attribute-access",
                 "allow us to explicitly declare data members"),
                ("How do you make an object callable?", "callable-types", "__call__"),
                ("What does the Ellipsis object represent?", "bltin-ellipsis-object",
                 "Ellipsis"),
                ("How are exceptions identified and matched in except clauses?", "exceptions",
                 "Exceptions are identified by class instances"),
                ("What does the pdb debugger command 'where' show?", "debugger",
                 "Print a stack trace, with the most recent frame at the bottom"),
                ("What happens when an identifier starts with two underscores in a class?",
                 "atom-identifiers", "private name"),
                ("How are string literals concatenated?", "strings", "concatenat"),
                ("How does subscription work for sequences with negative indexes?",
                 "subscriptions", "negative"),
                ("How is an attribute reference evaluated?", "attribute-references",
                 "__getattr__"),
            ]
        )
    )
]  # fmt: skip

UNANSWERABLE: list[str] = [
    "What is the capital city of Australia?",
    "How many moons does Mars have?",
    "Who wrote the novel War and Peace?",
    "What is the default port of a PostgreSQL server?",
    "How do I bake sourdough bread?",
    "Which team won the 2018 FIFA World Cup?",
    "What is the boiling point of water in Fahrenheit at sea level?",
    "How do I configure a Kubernetes ingress controller?",
    "What is the chemical symbol for gold?",
    "How tall is Mount Everest?",
    "What year did the Berlin Wall fall?",
    "How do I change the oil in a car?",
    "What is the speed of light in a vacuum?",
    "Which planet is closest to the sun?",
    "How do I make a React component re-render?",
    "What is the population of Tokyo?",
    # near misses: Python questions the language reference does not answer
    "How do I install a package with pip?",
    "How do I create a virtual environment with venv?",
    "What does functools.lru_cache do?",
    "How do I read a CSV file with pandas?",
    "How do I configure the logging module to write to a file?",
    "What does asyncio.gather return?",
    "How do I parse command-line arguments with argparse?",
    "How do I send an HTTP request with the requests library?",
]
