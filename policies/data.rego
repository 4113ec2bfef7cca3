# gate.data: are the model's inputs and outputs contracted, and is the data arriving as contracted?
# Judges data_contract evidence (what every upstream source and downstream consumer must document)
# and data_quality evidence (check success and malformed records per upstream source).
package gate.data

import data.gate.lib

t := data.threshold.data

contracts := lib.items("data_contract")

quality := lib.items("data_quality")

# Every source of every contract, with the contract it came from. An entry that is not a mapping (a
# blank `- ` in YAML is null) is no source: data.source_field_missing names it.
sources := [{"source": s, "contract": c} |
	some c in contracts
	some s in object.get(c, ["data", "sources"], [])
	is_object(s)
]

consumers := [{"consumer": s, "contract": c} |
	some c in contracts
	some s in object.get(c, ["data", "consumers"], [])
	is_object(s)
]

# Entries of sources or consumers that are not mappings: [{"side", "contract"}].
shapeless := [{"side": side, "contract": c} |
	some c in contracts
	some side in ["sources", "consumers"]
	some s in entries(c, side)
	not is_object(s)
]

entries(c, side) := xs if {
	xs := object.get(c, ["data", side], [])
	is_array(xs)
}

name_of(x) := x.name if is_string(object.get(x, "name", null))

name_of(x) := "(unnamed)" if not is_string(object.get(x, "name", null))

contract_name(c) := c.data.contract if is_string(object.get(c, ["data", "contract"], null))

contract_name(c) := "(unnamed)" if not is_string(object.get(c, ["data", "contract"], null))

# --- contracts ----------------------------------------------------------------------------------------

deny contains lib.finding(
	"data.no_upstream_sources",
	sprintf("data contract %s (%s) lists no upstream sources; every input the model reads must be contracted", [
		trim_space(contract_name(c)), lib.origin(c),
	]),
	0, 1, lib.origin(c),
) if {
	some c in contracts
	count(sources) == 0
}

deny contains lib.finding(
	"data.no_downstream_consumers",
	sprintf("data contract %s (%s) lists no downstream consumers; whoever reads the model's output must be contracted", [
		trim_space(contract_name(c)), lib.origin(c),
	]),
	0, 1, lib.origin(c),
) if {
	some c in contracts
	count(consumers) == 0
}

deny contains lib.finding(
	"data.source_field_missing",
	sprintf("upstream source %s in data contract %s (%s) does not document %s", [
		trim_space(name_of(x.source)), trim_space(contract_name(x.contract)), lib.origin(x.contract), field,
	]),
	object.get(x.source, field, null), field, lib.origin(x.contract),
) if {
	some x in sources
	some field in t.required_source_fields
	not lib.documented(object.get(x.source, field, null))
}

deny contains lib.finding(
	"data.consumer_field_missing",
	sprintf("downstream consumer %s in data contract %s (%s) does not document %s", [
		trim_space(name_of(x.consumer)), trim_space(contract_name(x.contract)), lib.origin(x.contract), field,
	]),
	object.get(x.consumer, field, null), field, lib.origin(x.contract),
) if {
	some x in consumers
	some field in t.required_consumer_fields
	not lib.documented(object.get(x.consumer, field, null))
}

deny contains lib.finding(
	id,
	sprintf("an entry of %s in data contract %s (%s) is not a mapping of its fields, so it documents nothing", [
		x.side, trim_space(contract_name(x.contract)), lib.origin(x.contract),
	]),
	null, "an object", lib.origin(x.contract),
) if {
	some x in shapeless
	id := {"sources": "data.source_field_missing", "consumers": "data.consumer_field_missing"}[x.side]
}

# --- quality --------------------------------------------------------------------------------------------

source_of(q) := q.data.source if is_string(object.get(q, ["data", "source"], null))

source_of(q) := "(unnamed source)" if not is_string(object.get(q, ["data", "source"], null))

counts_known(q) if {
	is_number(object.get(q, ["data", "checks_passed"], null))
	is_number(object.get(q, ["data", "checks_failed"], null))
	is_number(object.get(q, ["data", "checks_not_evaluated"], null))
}

# Warnings counted apart (checks_warned); evidence written before gate did so has none (its warnings
# are inside checks_failed).
warned(q) := q.data.checks_warned if is_number(object.get(q, ["data", "checks_warned"], null))

warned(q) := 0 if not is_number(object.get(q, ["data", "checks_warned"], null))

# Checks not evaluated count as not passing: a check that did not run proves nothing.
checks_total(q) := ((q.data.checks_passed + q.data.checks_failed) + q.data.checks_not_evaluated) + warned(q)

# The effective success ratio is the lower of the reported ratio and the one recounted from the checks.
# A warning is not a failure for this rule (data.quality_warnings judges warnings): both ratios count
# warned checks with the passed ones; the reported ratio (checks_passed / checks_run) is lifted by them.
success_ratio(q) := lib.round4(lib.min_of([
	(q.data.checks_passed + warned(q)) / checks_total(q),
	q.data.success_ratio + (warned(q) / checks_total(q)),
])) if {
	is_number(object.get(q, ["data", "success_ratio"], null))
}

success_ratio(q) := lib.round4((q.data.checks_passed + warned(q)) / checks_total(q)) if {
	not is_number(object.get(q, ["data", "success_ratio"], null))
}

deny contains lib.finding(
	"data.quality_success_ratio",
	sprintf("data quality of %s (%s): %s of checks passed (%s passed, %s failed, %s not evaluated); at least %s must pass", [
		trim_space(source_of(q)), lib.origin(q), lib.pct(ratio), lib.num(q.data.checks_passed),
		lib.num(q.data.checks_failed), lib.num(q.data.checks_not_evaluated), lib.pct(t.min_success_ratio),
	]),
	ratio, t.min_success_ratio, lib.origin(q),
) if {
	some q in quality
	counts_known(q)
	checks_total(q) > 0
	ratio := success_ratio(q)
	ratio < t.min_success_ratio
}

deny contains lib.finding(
	"data.quality_success_ratio",
	sprintf("data quality of %s (%s) evaluated no checks or does not report checks_passed, checks_failed and checks_not_evaluated", [
		trim_space(source_of(q)), lib.origin(q),
	]),
	null, t.min_success_ratio, lib.origin(q),
) if {
	some q in quality
	not evaluated_some(q)
}

evaluated_some(q) if {
	counts_known(q)
	checks_total(q) > 0
}

# --- warnings and build failures ---------------------------------------------------------------------

# What each tool calls a warning, for messages a team recognises.
warning_names := {
	"dbt": "dbt severity: warn",
	"soda": "Soda warn",
	"datacontract-cli": "datacontract-cli warning",
}

warning_name(q) := warning_names[q.data.tool] if is_string(object.get(q, ["data", "tool"], null))

warning_name(q) := "the tool's warning level" if not warning_names[object.get(q, ["data", "tool"], "")]

# Warnings block unless the threshold says otherwise: a threshold written before the key existed keeps
# the strict reading (warnings were counted as failures then).
warnings_block if object.get(t, "warnings_block", true) != false

warning_text(q) := sprintf("%s warning%s (%s)", [lib.num(warned(q)), plural(warned(q)), warning_name(q)])

plural(n) := "" if n == 1

plural(n) := "s" if n != 1

warning_checks(q) := [x.check | some x in object.get(q, ["data", "examples"], []); is_object(x); x.problem == "warning"; is_string(object.get(x, "check", null))]

warning_list(q) := "" if count(warning_checks(q)) == 0

warning_list(q) := sprintf(": %s", [trim_space(concat(", ", warning_checks(q)))]) if count(warning_checks(q)) > 0

deny contains lib.finding(
	"data.quality_warnings",
	sprintf("data quality of %s (%s): %s%s; the threshold blocks on warnings (data.warnings_block: true)", [
		trim_space(source_of(q)), lib.origin(q), warning_text(q), warning_list(q),
	]),
	warned(q), 0, lib.origin(q),
) if {
	warnings_block
	some q in quality
	warned(q) > 0
}

warn contains lib.finding(
	"data.quality_warnings",
	sprintf("data quality of %s (%s): %s%s; allowed by the threshold (data.warnings_block: false)", [
		trim_space(source_of(q)), lib.origin(q), warning_text(q), warning_list(q),
	]),
	warned(q), 0, lib.origin(q),
) if {
	not warnings_block
	some q in quality
	warned(q) > 0
}

# dbt's message is taken as it is (no trim_space: regopy drops the escaping of a quote in its result,
# and dbt quotes column names).
resource_type(b) := b.resource_type if is_string(object.get(b, "resource_type", null))

resource_type(b) := "node" if not is_string(object.get(b, "resource_type", null))

deny contains lib.finding(
	"data.build_failed",
	sprintf("%s %s (data of %s, %s) failed to build: %s", [
		resource_type(b), b.node, trim_space(source_of(q)), lib.origin(q), b.message,
	]),
	"error", "success", lib.origin(q),
) if {
	some q in quality
	some b in object.get(q, ["data", "build_failures"], [])
	is_object(b)
	is_string(object.get(b, "node", null))
	is_string(object.get(b, "message", null))
}

# For `gate lint` (docs/policies.md): both are judged when reported and recounted when absent
# (success_ratio from checks_*, malformed_rate from malformed_records / records_checked; with neither,
# the rules above and below deny), so their absence alone is no vacuous approval.
lint_optional contains "data_quality.success_ratio"

lint_optional contains "data_quality.malformed_rate"

# Malformed rate: as reported, else recounted from malformed_records / records_checked.
malformed_rate(q) := q.data.malformed_rate if is_number(object.get(q, ["data", "malformed_rate"], null))

malformed_rate(q) := lib.round4(q.data.malformed_records / q.data.records_checked) if {
	not is_number(object.get(q, ["data", "malformed_rate"], null))
	is_number(object.get(q, ["data", "malformed_records"], null))
	is_number(object.get(q, ["data", "records_checked"], null))
	q.data.records_checked > 0
}

deny contains lib.finding(
	"data.malformed_rate",
	sprintf("data quality of %s (%s): %s of records are malformed; at most %s is allowed", [
		trim_space(source_of(q)), lib.origin(q), lib.pct(rate), lib.pct(t.max_malformed_rate),
	]),
	rate, t.max_malformed_rate, lib.origin(q),
) if {
	some q in quality
	rate := malformed_rate(q)
	rate > t.max_malformed_rate
}

# A source's malformed records are measured when some data_quality evidence about it reports them
# (gate's sample validation does; tools that only count checks, such as dbt or Soda, do not).
# The evidence list is rebuilt by a comprehension: on regopy 1.5.2 the value sort() returns cannot be
# indexed or compared with an array.
malformed_measured contains source_of(q) if {
	some q in quality
	malformed_rate(q)
}

quality_origin(q) := q.origin if is_string(object.get(q, "origin", null))

quality_origin(q) := "(no origin)" if not is_string(object.get(q, "origin", null))

deny contains lib.finding(
	"data.malformed_rate",
	sprintf("no data quality evidence about %s (%s) reports malformed_rate or malformed_records with records_checked; at most %s malformed is allowed", [
		trim_space(s), lib.join(origins), lib.pct(t.max_malformed_rate),
	]),
	null, t.max_malformed_rate, [o | some o in sort(origins)],
) if {
	some s in {source_of(q) | some q in quality}
	not s in malformed_measured
	origins := {quality_origin(q) | some q in quality; source_of(q) == s}
}

measured_sources contains q.data.source if {
	some q in quality
	is_string(object.get(q, ["data", "source"], null))
}

deny contains lib.finding(
	"data.quality_not_measured",
	sprintf("upstream source %s in data contract %s (%s) has no data_quality evidence", [
		x.source.name, trim_space(contract_name(x.contract)), lib.origin(x.contract),
	]),
	null, x.source.name, lib.origin(x.contract),
) if {
	t.require_quality_per_source == true
	some x in sources
	is_string(object.get(x.source, "name", null))
	not x.source.name in measured_sources
}

# A source without a name cannot be matched to any data_quality evidence: its quality is not shown.
deny contains lib.finding(
	"data.quality_not_measured",
	sprintf("an upstream source in data contract %s (%s) has no name, so no data_quality evidence can be about it", [
		trim_space(contract_name(x.contract)), lib.origin(x.contract),
	]),
	null, "a source name", lib.origin(x.contract),
) if {
	t.require_quality_per_source == true
	some x in sources
	not is_string(object.get(x.source, "name", null))
}

# Freshness: the newest valid record of a sample must be no older than the contract's freshness SLA
# (scaled by max_freshness_sla_ratio).
deny contains lib.finding(
	"data.freshness",
	sprintf("data of %s (%s): the newest record is %s h old; its contract promises at most %s h", [
		trim_space(source_of(q)), lib.origin(q), lib.num(lib.round2(age)), lib.num(lib.round2(limit)),
	]),
	lib.round2(age), lib.round2(limit), lib.origin(q),
) if {
	some q in quality
	age := object.get(q, ["data", "freshness_hours"], null)
	sla := object.get(q, ["data", "freshness_sla_hours"], null)
	is_number(age)
	is_number(sla)
	limit := sla * t.max_freshness_sla_ratio
	age > limit
}

deny contains lib.finding(
	"data.freshness",
	sprintf("data of %s (%s): its contract promises records at most %s h old, but no valid record carries a readable timestamp in %s", [
		trim_space(source_of(q)), lib.origin(q), lib.num(lib.round2(sla)),
		trim_space(object.get(q, ["data", "timestamp_field"], "(no timestamp field named)")),
	]),
	null, lib.round2(sla), lib.origin(q),
) if {
	some q in quality
	sla := object.get(q, ["data", "freshness_sla_hours"], null)
	is_number(sla)
	not is_number(object.get(q, ["data", "freshness_hours"], null))
}

# --- coverage -------------------------------------------------------------------------------------------

inventories := lib.items("data_inventory")

deny contains lib.finding(
	"data.inventory_missing",
	"no data_inventory evidence: the upstream and downstream data dependencies are not listed, so it cannot be shown that each has a contract",
	0, 1, null,
) if {
	t.require_inventory == true
	count(inventories) == 0
}

deny contains lib.finding(
	"data.dependency_without_contract",
	sprintf("%s dependency %s (named in %s) has no data contract (%s)", [
		trim_space(side), trim_space(d.name), lib.join(object.get(d, "named_in", [])), lib.origin(inv),
	]),
	0, 1, lib.origin(inv),
) if {
	some inv in inventories
	some side in ["upstream", "downstream"]
	some d in object.get(inv, ["data", side], [])
	is_object(d)
	is_string(object.get(d, "name", null))
	not has_contracts(d)
}

# contracts: null (a blank `contracts:` in YAML) or a non-list names no contract either.
has_contracts(d) if {
	cs := object.get(d, "contracts", [])
	is_array(cs)
	count(cs) > 0
}
