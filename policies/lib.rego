# Helpers shared by the gate.* policy packages. No deny or warn rules live here.
#
# Everything here sticks to the subset of Rego that both OPA and the embedded regopy 1.5.2 get
# right (see docs/input-document.md): numbers reach messages through num/pct, never through a bare
# %.2f (OPA prints "%!f(int=40)" for an integer) or %v (regopy prints 16 significant digits), and
# every computed string passed to a sprintf %s goes through trim_space (regopy quotes it otherwise).
package gate.lib

# finding is the one shape of every deny and warn entry.
finding(id, msg, observed, expected, evidence) := {
	"id": id,
	"msg": msg,
	"observed": observed,
	"expected": expected,
	"evidence": evidence,
}

# items is the list of evidence of one kind; empty when gate collected none.
items(kind) := object.get(object.get(input, "evidence", {}), kind, [])

# origin is where an evidence item came from (file path or URL), or null.
origin(e) := object.get(e, "origin", null)

# exact is 2^53, the largest magnitude every engine holds exactly. gate refuses larger evidence, but a
# number computed from evidence (a ratio) can be larger, and regopy's format_int is undefined above int64.
exact := 9007199254740992

# num renders a number for a message: integers as integers, anything else with two decimals. It is total
# (a number too large to print reads as such), so a message, and the deny that carries it, never vanishes.
num(x) := trim_space(format_int(x, 10)) if {
	printable(x)
	x == floor(x)
}

num(x) := trim_space(sprintf("%.2f", [x])) if {
	printable(x)
	x != floor(x)
}

num(x) := "more than 9007199254740992" if {
	is_number(x)
	x > exact
}

num(x) := "less than -9007199254740992" if {
	is_number(x)
	x < 0 - exact
}

num(x) := "(not a number)" if not is_number(x)

printable(x) if {
	is_number(x)
	x <= exact
	x >= 0 - exact
}

# pct renders a ratio (0..1) as a percentage for a message, e.g. 0.9449 -> "94.49%".
pct(x) := trim_space(concat("", [num(round(x * 10000) / 100), "%"]))

# round2 and round4 keep computed numbers identical on every engine (OPA divides in decimal). regopy's
# round() is wrong beyond int64 (round(1e44) is -2^63), so a number whose scaled form would pass 2^53 is
# returned as it is: it has no decimals worth rounding, and a deny comparing it still fires on both engines.
round2(x) := round(x * 100) / 100 if abs(x) <= 90071992547409

round2(x) := x if abs(x) > 90071992547409

round4(x) := round(x * 10000) / 10000 if abs(x) <= 900719925474

round4(x) := x if abs(x) > 900719925474

# max_of and min_of are the largest and smallest number of a non-empty list. Never use the min, max
# or sort builtins on numbers: regopy 1.5.2 orders numbers there as text (min([90, 365]) is 365).
max_of(xs) := x if {
	some x in xs
	every y in xs {
		y <= x
	}
}

min_of(xs) := x if {
	some x in xs
	every y in xs {
		y >= x
	}
}

# display renders a possibly missing string for a message.
display(s) := s if is_string(s)

display(s) := "(none)" if not is_string(s)

# fold gives a name in the form two names are compared in: case folded, surrounding space trimmed.
# gate puts the case-folded form of every input text with a non-ASCII letter in input.casefolded
# (regopy's lower() changes ASCII letters only); lower() serves all other text, on both engines alike.
# Exact for text taken from the input; for text built in Rego from non-ASCII parts, use OPA.
fold(s) := trim_space(object.get(object.get(input, "casefolded", {}), s, lower(s))) if is_string(s)

# join renders a set or list of strings, sorted, for a message.
join(xs) := trim_space(concat(", ", sort(xs)))

# documented holds when a value says something: a non-blank string, true, a number, or a non-empty
# list or object. Absent, null, "", false, [] and {} are not documented.
documented(v) if {
	is_string(v)
	trim_space(v) != ""
}

documented(v) if v == true

documented(v) if is_number(v)

documented(v) if {
	is_array(v)
	count(v) > 0
}

documented(v) if {
	is_object(v)
	count(v) > 0
}
