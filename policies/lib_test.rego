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
