// Package notify decides when an LwM2M client sends a notification for one
// observation, from the <NOTIFICATION> class attributes in force (Core 1.1
// and 1.2 section 5.1.2, Table 5.1.2-2) and the values the observed node
// takes. It is the pure logic under the client engine in core/client: it
// starts no goroutine, keeps no clock (every call is given the time), reads
// no value and sends nothing. The engine runs one timer per observation,
// reads values and sends notifications; given the same calls, a State gives
// the same answers.
//
// Package notify imports the standard library, core/model and core/link
// only.
//
// # Using it
//
// The engine resolves the attributes with PolicyFor, creates a State with
// the value it put in the response to Observe, sets its timer to what Next
// returns, and then:
//
//   - calls Changed when the object reports a change, or with the value it
//     read when a State asked for an evaluation; if Changed says notify, it
//     sends that value;
//   - calls Tick at the time the last call returned (zero: no timer); Tick
//     says notify (read the value and send it) or evaluate (read the value
//     and call Changed with it);
//   - calls Sent after every notification it sends, and SetPolicy when a
//     Write-Attributes changes the attributes of a level the observation
//     inherits from.
//
// Every call returns the time of the next Tick, which replaces the timer.
//
// Times must not go backwards from one call to the next: time.Now (whose
// monotonic reading time.Time arithmetic uses) or a fake clock.
//
// # Rules
//
// The response to Observe is the first notification (Core section 5.1.2:
// "this event can be considered as the initial notification"), and each
// notification restarts the minimum and maximum periods. A notification is
// sent when a change qualifies and pmin has passed since the last one, or
// when pmax has passed (section 5.1.2, "Notification Conditions"):
//
//   - pmin: no notification earlier than pmin after the last one. A change
//     that qualifies inside pmin is held; when pmin ends the engine is asked
//     to evaluate, and the value current then is sent only if it still
//     qualifies (Table 5.1.2-2: "notification MUST be sent as soon as pmin
//     expires"). A later change inside pmin that no longer qualifies drops
//     the held one.
//   - pmax: a notification pmax after the last one, changed or not. pmax 0
//     means no maximum period (Core 1.1.1 and 1.2 Table 5.1.2-2: "The value
//     of 0, means pmax MUST be ignored"), and a pmax smaller than pmin is
//     ignored (section 5.1.2: "MUST be ignored for that Resource"). pmax
//     equal to pmin is kept and notifies every pmin: 1.1's table note asks
//     pmax to be "greater than" pmin, 1.2's "greater than or equal to", and
//     the rule of section 5.1.2 ignores only a smaller one.
//     Without pmin or pmax the server's Default Minimum and Maximum Period
//     (Server object resources 2 and 3) apply; 0 is none.
//   - A change is a node that differs from the last one sent
//     (model.Node.Equal). Without gt, lt, st or edge every change
//     qualifies; so it does for objects, object instances, multiple
//     resources and composite nodes, to which those attributes do not apply.
//   - gt and lt (numeric resources): a change qualifies when the value
//     crosses the threshold relative to the last value sent, in either
//     direction. gt splits values into > gt and <= gt, lt into < lt and
//     >= lt, so a value landing exactly on gt leaves the region above it.
//   - st (numeric resources): a change qualifies when it differs from the
//     last value sent by st or more (Table 5.1.2-2: "the value variation
//     since the last notification ... is greater or equal to the Step").
//   - gt, lt and st combine with OR: one of them is enough (section 5.1.2:
//     "Greater Than", "Less Than", OR "Step").
//   - epmin (1.1): no evaluation earlier than epmin after the previous one.
//     A change reported inside epmin is not looked at; the engine is asked
//     to evaluate when epmin ends. epmax (1.1): an evaluation at the latest
//     epmax after the previous one, for sensors that do not report their
//     changes (section 5.1.2: "After the expiry of epmax, the device MUST
//     perform an evaluation"). Every call to Changed that is looked at is
//     an evaluation, and so is every notification sent.
//   - edge (1.2, Boolean resources): only a change to true (edge=1) or to
//     false (edge=0) qualifies, and one qualifies when the value went the
//     other way since the last notification, even if the value sent last
//     is the same: with edge=1, true sent, then false, then true notifies
//     the second rising edge.
//   - con (1.2) is carried in Policy.Confirmable for the engine; hqmax is
//     the engine's queue and is not in a Policy.
//
// # Choices where the specification is ambiguous
//
// Crossing a threshold in either direction: Core says a notification is
// due "each time the Observed Resource value crosses this threshold".
// Eclipse Wakaama (core/observe.c) and AVSystem Anjay Lite
// (observe/notification.c) notify on a crossing either way; Eclipse
// Leshan's client (notification/checker) only on entering the region
// (rising above gt, falling below lt). We follow Wakaama and Anjay:
// notifying only on entry compares a later re-entry against a last value
// sent that is still inside the region, so every entry after the first is
// missed until pmax forces a notification.
//
// Threshold boundaries: Leshan's entry test (last <= gt < new, last >= lt >
// new) fixes where the region starts; we use the same boundaries for the
// way back. Wakaama uses strict inequalities on both sides, so that a value
// landing exactly on the threshold is no crossing.
//
// gt, lt and st together: Wakaama and Anjay test all of them and notify if
// any holds, as the spec's "OR" says; Leshan uses only one (st, else lt,
// else gt). We test all of them.
//
// Change value conditions that break the rules of section 5.1.2 (lt < gt,
// lt + 2*st < gt) once the levels are merged, which a single
// Write-Attributes cannot produce but two can: the spec calls the
// conditions valid only when the rules hold, so PolicyFor drops gt, lt and
// st and every change qualifies. Wakaama refuses the second
// Write-Attributes instead; Anjay Lite deactivates the observation, which
// sends nothing at all.
//
// Time resources: "Numerical" in Table 5.1.2-2 is read as Integer,
// Unsigned Integer and Float, as Leshan's checkers and Anjay Lite do; a
// Time resource is not numeric and any change of it qualifies.
//
// epmin not less than epmax: the spec says epmin "must be less than"
// epmax without saying what a client does otherwise; we evaluate every
// epmin, which keeps epmin's limit and a periodic evaluation. Anjay Lite
// deactivates the observation here too.
//
// A Write-Attributes on a live observation (Core section 6.4.2: "The LwM2M
// Client behavior is implementation dependent"): SetPolicy keeps the last
// value and time sent, the change held for pmin and what edge has seen;
// the new periods count from the last notification and the new conditions
// judge the next evaluation.
package notify
