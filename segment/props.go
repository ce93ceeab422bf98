package segment

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/beacon-analytics/beacon/protocol"
)

// segContext is the part of a message's context the mapping reads; the whole context is kept
// as sent in props.$context.
type segContext struct {
	UserAgent string `json:"userAgent"`
	Locale    string `json:"locale"`
	Library   struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"library"`
	Page     map[string]jsontext.Value `json:"page"`
	Campaign map[string]jsontext.Value `json:"campaign"`
}

// campaignKeys maps context.campaign's fields to the utm_ props the dashboard reads.
var campaignKeys = map[string]string{"name": "utm_campaign", "source": "utm_source", "medium": "utm_medium", "term": "utm_term", "content": "utm_content"}

// pageKeys are the page fields a $pageview carries (the SDK's, docs/protocol.md), taken from
// properties, else from context.page.
var pageKeys = []string{"url", "path", "referrer", "title", "search"}

// props builds an event's props: the message's properties (or, for group, the SDK's $group
// convention) with what its context says, each key added only where properties have none (the
// sender's own value wins). A props object that is not one, or holds a repeated key, is refused
// here; size, depth, numbers and \u0000 are protocol.Limits' to check.
func props(m *message, ctx jsontext.Value) (jsontext.Value, *protocol.Error) {
	p := map[string]jsontext.Value{}
	if e := object(m.Properties, &p, "properties"); e != nil {
		return nil, e
	}
	var c segContext
	if e := object(ctx, &c, "context"); e != nil {
		return nil, e
	}
	set := func(k string, v jsontext.Value) {
		if _, ok := p[k]; !ok && len(v) > 0 && string(v) != "null" {
			p[k] = v
		}
	}
	str := func(s string) jsontext.Value {
		if s == "" {
			return nil
		}
		v, _ := json.Marshal(s)
		return v
	}
	switch m.Type {
	case typePage:
		for _, k := range pageKeys {
			set(k, c.Page[k])
		}
		set("name", str(m.Name))
		set("category", str(m.Category))
	case typeScreen:
		set("name", str(m.Name))
	case typeGroup:
		traits := m.Traits
		if len(traits) == 0 || string(traits) == "null" {
			traits = jsontext.Value("{}")
		}
		set("$group_type", str("group"))
		set("$group_key", str(m.GroupID))
		set("$group_set", traits)
		set("$groups", jsontext.Value(`{"group":`+string(str(m.GroupID))+`}`))
	}
	if c.UserAgent != "" {
		for k, v := range agent(c.UserAgent) {
			set(k, str(v))
		}
	}
	for from, to := range campaignKeys {
		set(to, c.Campaign[from])
	}
	set("$lib", str(c.Library.Name))
	set("$lib_version", str(c.Library.Version))
	set("$locale", str(c.Locale))
	set("$message_id", str(m.MessageID))
	set("$context", ctx)
	out, err := json.Marshal(p, json.Deterministic(true))
	if err != nil {
		return nil, protocol.NewError(protocol.CodeBadProps, "properties could not be stored: "+err.Error())
	}
	return out, nil
}

// object decodes raw (absent or null: nothing) into v, which must be a JSON object.
func object(raw jsontext.Value, v any, field string) *protocol.Error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw.Kind() != '{' {
		return protocol.NewError(protocol.CodeBadProps, field+" must be a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		e := decodeError(err)
		if e.Code == protocol.CodeBadMessage {
			e.Message = field + ": " + e.Message
		}
		return e
	}
	return nil
}
