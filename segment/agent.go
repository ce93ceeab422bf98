package segment

import (
	"regexp"
	"strings"
)

// agentRule is one NAME=REGEXP pair of the SDK's agent() (sdk/src/agent.ts).
type agentRule struct {
	name string
	re   *regexp.Regexp
}

func rules(pairs ...string) []agentRule {
	out := make([]agentRule, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, agentRule{pairs[i], regexp.MustCompile(pairs[i+1])})
	}
	return out
}

var (
	browsers = rules("Edge", `Edg/`, "Opera", `OPR/|Opera`, "Firefox", `Firefox/|FxiOS`, "Chrome", `Chrome/|CriOS`, "Safari", `Safari/`)
	systems  = rules("Windows", `Windows`, "iOS", `iPhone|iPad|iPod`, "Android", `Android`, "ChromeOS", `CrOS`, "macOS", `Mac OS X`, "Linux", `Linux`)
	mobile   = regexp.MustCompile(`Mobi|iPhone|iPod`)
	tablet   = regexp.MustCompile(`iPad|Tablet`)
)

func firstOf(ua string, rs []agentRule) string {
	for _, r := range rs {
		if r.re.MatchString(ua) {
			return r.name
		}
	}
	return "Other"
}

// agent is the SDK's agent() in Go: the coarse $browser, $os and $device of a user agent (names,
// no versions), which the sessions trigger reads from a $pageview's props for the dashboard's top
// lists. The same rules, so a visit tracked by Segment's analytics.js and one tracked by the SDK
// land in the same rows. (RE2 has no look-ahead: "Android(?!.*Mobi)" is spelled out.)
func agent(ua string) map[string]string {
	device := "desktop"
	android := strings.Index(ua, "Android")
	switch {
	case tablet.MatchString(ua) || (android >= 0 && !strings.Contains(ua[android:], "Mobi")):
		device = "tablet"
	case mobile.MatchString(ua):
		device = "mobile"
	}
	return map[string]string{"$browser": firstOf(ua, browsers), "$os": firstOf(ua, systems), "$device": device}
}
