// Renders Ollama TEMPLATEs the way Ollama's server does, with Go's own text/template, for the tests
// (test/helpers/ollama-render.ts builds and runs it). Written after Ollama's template package: the
// template parses without function checks, executes with missingkey=zero and a `json` function;
// consecutive messages of one role are merged ("\n\n") and every system message is also collected
// into .System; a template that reads .Messages is executed once over them, any other once per
// finished turn ({{ .System }}, {{ .Prompt }}, {{ .Response }}), the last execution cut after
// {{ .Response }} (and a template with neither .Messages nor .Response gets {{ .Response }} appended).
//
// stdin: JSON [{ "template": "...", "messages": [{ "role", "content", "thinking"?, "tool_calls"? }], "tools"? }]
// stdout: JSON [{ "text": "..." } | { "error": "..." }]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"text/template/parse"
)

type ToolCallFunction struct {
	Index     int            `json:"index"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

type ToolCall struct {
	ID       string           `json:"id,omitempty"`
	Function ToolCallFunction `json:"function"`
}

type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	Thinking   string     `json:"thinking,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolName   string     `json:"tool_name,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type Case struct {
	Template string    `json:"template"`
	Messages []Message `json:"messages"`
	Tools    []any     `json:"tools"`
}

type Result struct {
	Text  *string `json:"text,omitempty"`
	Error string  `json:"error,omitempty"`
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
}

// identifiers lists the field and variable names a node reads, lowercased.
func identifiers(n parse.Node) []string {
	switch n := n.(type) {
	case *parse.ListNode:
		var names []string
		for _, c := range n.Nodes {
			names = append(names, identifiers(c)...)
		}
		return names
	case *parse.TemplateNode:
		return identifiers(n.Pipe)
	case *parse.ActionNode:
		return identifiers(n.Pipe)
	case *parse.BranchNode:
		names := identifiers(n.Pipe)
		for _, l := range []*parse.ListNode{n.List, n.ElseList} {
			if l != nil {
				names = append(names, identifiers(l)...)
			}
		}
		return names
	case *parse.IfNode:
		return identifiers(&n.BranchNode)
	case *parse.RangeNode:
		return identifiers(&n.BranchNode)
	case *parse.WithNode:
		return identifiers(&n.BranchNode)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		var names []string
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				names = append(names, identifiers(a)...)
			}
		}
		return names
	case *parse.FieldNode:
		return n.Ident
	case *parse.VariableNode:
		return n.Ident
	}
	return nil
}

func reads(tree *parse.Tree, name string) bool {
	for _, id := range identifiers(tree.Root) {
		if strings.EqualFold(id, name) {
			return true
		}
	}
	return false
}

// cutAfterResponse copies the tree without everything after the first {{ .Response }} field
// (kept itself, empty); an if/range/with around it keeps its pipe, as Ollama's walk does.
func cutAfterResponse(root *parse.ListNode) *parse.ListNode {
	cut := false
	var walk func(n parse.Node) parse.Node
	walk = func(n parse.Node) parse.Node {
		if field, ok := n.(*parse.FieldNode); ok {
			for _, id := range field.Ident {
				if id == "Response" {
					cut = true
					return n
				}
			}
		}
		if cut {
			return nil
		}
		switch t := n.(type) {
		case *parse.ListNode:
			var nodes []parse.Node
			for _, c := range t.Nodes {
				if kept := walk(c); kept != nil {
					nodes = append(nodes, kept)
				}
			}
			t.Nodes = nodes
			return t
		case *parse.IfNode:
			t.BranchNode = *(walkBranch(&t.BranchNode, walk))
		case *parse.WithNode:
			t.BranchNode = *(walkBranch(&t.BranchNode, walk))
		case *parse.RangeNode:
			t.BranchNode = *(walkBranch(&t.BranchNode, walk))
		case *parse.ActionNode:
			kept := walk(t.Pipe)
			if kept == nil {
				return nil
			}
			t.Pipe = kept.(*parse.PipeNode)
		case *parse.PipeNode:
			var commands []*parse.CommandNode
			for _, c := range t.Cmds {
				var args []parse.Node
				for _, a := range c.Args {
					if kept := walk(a); kept != nil {
						args = append(args, kept)
					}
				}
				if len(args) == 0 {
					return nil
				}
				c.Args = args
				commands = append(commands, c)
			}
			if len(commands) == 0 {
				return nil
			}
			t.Cmds = commands
		}
		return n
	}
	return walk(root.CopyList()).(*parse.ListNode)
}

// walkBranch walks an if/range/with's lists, not its pipe; a list cut away entirely becomes empty.
func walkBranch(b *parse.BranchNode, walk func(parse.Node) parse.Node) *parse.BranchNode {
	list := func(l *parse.ListNode) *parse.ListNode {
		if kept, ok := walk(l).(*parse.ListNode); ok {
			return kept
		}
		return &parse.ListNode{NodeType: parse.NodeList}
	}
	b.List = list(b.List)
	if b.ElseList != nil {
		b.ElseList = list(b.ElseList)
	}
	return b
}

func collate(messages []Message) (string, []Message) {
	var system []string
	var collated []Message
	for _, m := range messages {
		if m.Role == "system" {
			system = append(system, m.Content)
		}
		if len(collated) > 0 && collated[len(collated)-1].Role == m.Role {
			collated[len(collated)-1].Content += "\n\n" + m.Content
		} else {
			collated = append(collated, m)
		}
	}
	return strings.Join(system, "\n\n"), collated
}

func render(c Case) (string, error) {
	tree := parse.New("")
	tree.Mode = tree.Mode | parse.SkipFuncCheck
	tree, err := tree.Parse(c.Template, "", "", map[string]*parse.Tree{})
	if err != nil {
		return "", err
	}
	if !reads(tree, "messages") && !reads(tree, "response") {
		tree.Root.Nodes = append(tree.Root.Nodes, &parse.ActionNode{NodeType: parse.NodeAction, Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Args: []parse.Node{&parse.FieldNode{NodeType: parse.NodeField, Ident: []string{"Response"}}}}}}})
	}
	compile := func(root *parse.ListNode) (*template.Template, error) {
		return template.New("").Option("missingkey=zero").Funcs(funcs).AddParseTree("", &parse.Tree{Root: root})
	}
	full, err := compile(tree.Root)
	if err != nil {
		return "", err
	}
	system, messages := collate(c.Messages)
	var out bytes.Buffer
	if reads(tree, "messages") {
		err = full.Execute(&out, map[string]any{"System": system, "Messages": messages, "Tools": c.Tools, "Response": ""})
		return out.String(), err
	}

	system = ""
	var prompt, response string
	execute := func() error {
		err := full.Execute(&out, map[string]any{"System": system, "Prompt": prompt, "Response": response})
		system, prompt, response = "", "", ""
		return err
	}
	for _, m := range messages {
		switch m.Role {
		case "system":
			if prompt != "" || response != "" {
				if err := execute(); err != nil {
					return "", err
				}
			}
			system = m.Content
		case "user":
			if response != "" {
				if err := execute(); err != nil {
					return "", err
				}
			}
			prompt = m.Content
		case "assistant":
			response = m.Content
		}
	}
	last, err := compile(cutAfterResponse(tree.Root))
	if err != nil {
		return "", err
	}
	err = last.Execute(&out, map[string]any{"System": system, "Prompt": prompt, "Response": response})
	return out.String(), err
}

func main() {
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	results := make([]Result, len(cases))
	for i, c := range cases {
		text, err := render(c)
		if err != nil {
			results[i] = Result{Error: err.Error()}
		} else {
			results[i] = Result{Text: &text}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
