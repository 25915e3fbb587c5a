#!/usr/bin/env python3
# make_cases.py - writes tests/gpt2_split/cases.txt: strings and how GPT-2's own pattern cuts them.
#
#   python3 tests/gpt2_split/make_cases.py > tests/gpt2_split/cases.txt    (needs `pip install regex`)
#
# The pattern is GPT-2's (openai/gpt-2, src/encoder.py), run by the `regex` module it was written
# for. Each line: the string as UTF-8 in hex, a space, then the byte length of every chunk,
# separated by commas. test_bpe_pre_split_is_gpt2s_regex (tests/test_data.c) reads the file.
import random
import regex

GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

TRICKY = [
    "Hello world  42x, ok\n\nyes",
    "a\n\nb", "a   b", "a \n b", "trailing spaces   ", "   leading", "\t\ttabs\tand\r\nCRLF\r\n",
    "don't I'm you're we've they'll he'd it's 'tis", "DON'T IT'S", "'s 't 're 've 'm 'll 'd '",
    "rock'n'roll", "''s", "x's'", "don’t “quoted” — dash… ‘single’",
    "caf\u00e9 nai\u0308ve e\u0301", "na\u00efve \u00fcber stra\u00dfe",
    "\u0394\u03b5\u03bb\u03c4\u03b1 \u041f\u0440\u0438\u0432\u0435\u0442 \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002\u4e2d\u6587\uff0c\ud55c\uad6d\uc5b4",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0663\u0664\u0665 \u0967\u0968 \uff11\uff12\uff13 \u00bd \u2163 \u00b2\u00b3 1,000.5 3rd 42nd",
    "nbsp\u00a0here\u2003em\u3000ideographic\u2028line\u2029para\u0085nel",
    "emoji \U0001F600\U0001F600 \U0001F469\u200d\U0001F4BB \U0001F1EB\U0001F1F7 ok\U0001F44D\U0001F3FD",
    "zero\u200bwidth joiner\u200dnon\u200cjoiner soft\u00adhyphen",
    "math \u2200x\u2208\u211d: x\u00b2 \u2265 0 \u222b\u2211\u220f", "\U0001D400\U0001D401 \U00010400",
    "code: if (a[i] != b) { return -1; } // x++ && y--", "https://example.com/a?b=c&d=%20#frag",
    "snake_case camelCase kebab-case SCREAMING_CASE", "   \n\n\n   x", " \n", "\n \n", "  ",
    " ", "x", "", "!!!", " !!! ", "a1b2c3 123abc abc123", "\x00\x01\x1c\x1f\x7f controls",
    "\u00a0\u00a0x", " \u00a0x", "\u00a0 x", "x \u3000 y", "end with newline\n",
]


def cases():
    for s in TRICKY:
        yield s
    rng = random.Random(13)
    pool = (list("aZ09 \n\t'’.,;-_") + ["\u00e9", "e\u0301", "\u00a0", "\u3000", "\u0663", "\u00bd", "\u4e2d",
            "\U0001F600", "\u200d", "\u2028", "'s", "'ll", "  ", "\r\n", "\u0915\u094d"])
    for _ in range(400):
        yield "".join(rng.choice(pool) for _ in range(rng.randrange(1, 40)))


for s in cases():
    chunks = GPT2.findall(s)
    assert "".join(chunks) == s
    print(s.encode().hex() or "-", ",".join(str(len(c.encode())) for c in chunks) or "-")
