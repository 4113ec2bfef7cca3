# Unit tests of gate.lib's message helpers. Run: pytest tests/policies (regopy and OPA).
package gate.lib_test

import data.gate.lib

test_num_prints_integers_up_to_two_to_the_53 if {
	lib.num(0) == "0"
	lib.num(612) == "612"
	lib.num(9007199254740992) == "9007199254740992"
	lib.num(-9007199254740992) == "-9007199254740992"
}

test_num_prints_fractions_with_two_decimals if {
	lib.num(0.5) == "0.50"
	lib.num(126.456) == "126.46"
}

# regopy's format_int is undefined above int64: a message built from such a number, and the deny
# carrying it, would vanish; num reads as a text instead.
test_num_is_defined_beyond_two_to_the_53 if {
	lib.num(9007199254740993) == "more than 9007199254740992"
	lib.num(18446744073709551615) == "more than 9007199254740992"
	lib.num(-18446744073709551616) == "less than -9007199254740992"
	lib.num(1e300) == "more than 9007199254740992"
}

test_num_is_defined_for_what_is_not_a_number if {
	lib.num("612") == "(not a number)"
	lib.num(null) == "(not a number)"
}

test_pct_is_defined_for_any_ratio if {
	lib.pct(0.9449) == "94.49%"
	lib.pct(1) == "100%"
	lib.pct(18446744073709551615) == "more than 9007199254740992%"
}

test_round_keeps_two_and_four_decimals if {
	lib.round2(3.14159) == 3.14
	lib.round2(2.5) == 2.5
	lib.round4(0.94494) == 0.9449
}

# regopy's round() is wrong beyond int64 (round(1e44) is -2^63): a rate of malformed lines of 2^53
# would round to a negative number there and its deny would vanish; a number that large is kept.
test_round_keeps_numbers_too_large_to_scale if {
	lib.round2(9007199254740992) == 9007199254740992
	lib.round4(9007199254740992) == 9007199254740992
	lib.round4(1e44) > 1
	lib.round2(-1e44) < -1
}
