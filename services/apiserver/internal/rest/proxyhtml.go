package rest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// linkAttrs are the attributes that hold URLs, by element, as Kubernetes'
// proxy rewrites them.
var linkAttrs = map[atom.Atom][]string{
	atom.A: {"href"}, atom.Applet: {"codebase"}, atom.Area: {"href"}, atom.Audio: {"src"}, atom.Base: {"href"},
	atom.Blockquote: {"cite"}, atom.Body: {"background"}, atom.Button: {"formaction"}, atom.Command: {"icon"},
	atom.Del: {"cite"}, atom.Embed: {"src"}, atom.Form: {"action"}, atom.Frame: {"longdesc", "src"},
	atom.Head: {"profile"}, atom.Html: {"manifest"}, atom.Iframe: {"longdesc", "src"},
	atom.Img: {"longdesc", "src", "usemap"}, atom.Input: {"src", "usemap", "formaction"}, atom.Ins: {"cite"},
	atom.Link: {"href"}, atom.Object: {"classid", "codebase", "data", "usemap"}, atom.Q: {"cite"},
	atom.Script: {"src"}, atom.Source: {"src"}, atom.Video: {"poster", "src"},
}

// linkRewriter moves the backend's absolute links under the proxy's path,
// so pages served through .../proxy/ link back through it, as Kubernetes'
// proxy does: a path starting with "/" gets prefix in front; a URL naming
// the backend's own host as well; relative links and other hosts stay.
type linkRewriter struct {
	prefix  string // the request's path up to and with /proxy, escaped
	backend string // host:port the answer came from
}

func (l linkRewriter) rewrite(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Host != "" && u.Host != l.backend) || !strings.HasPrefix(u.Path, "/") {
		return raw
	}
	p := path.Join(l.prefix, u.Path)
	if strings.HasSuffix(u.Path, "/") && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	u.Scheme, u.Host, u.Path, u.RawPath = "", "", p, ""
	return u.String()
}

// response rewrites a redirect's Location and an HTML page's links.
func (l linkRewriter) response(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Header.Set("Location", l.rewrite(loc))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/html" || resp.Body == nil {
		return nil
	}
	body, err := decoded(resp)
	if err != nil {
		return nil // an encoding we do not read: passed on as it came
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if err := l.html(body, &out); err != nil {
		return err
	}
	resp.Body = io.NopCloser(&out)
	resp.Header.Del("Content-Encoding")
	resp.Header.Set("Content-Length", strconv.Itoa(out.Len()))
	resp.ContentLength = int64(out.Len())
	return nil
}

// decoded is the response body without its content encoding.
func decoded(resp *http.Response) (io.Reader, error) {
	switch strings.ToLower(resp.Header.Get("Content-Encoding")) {
	case "", "identity":
		return resp.Body, nil
	case "gzip":
		return gzip.NewReader(resp.Body)
	case "deflate":
		return flate.NewReader(resp.Body), nil
	}
	return nil, io.ErrUnexpectedEOF
}

// html copies a page, rewriting the links of its tags and leaving every
// other byte as it was.
func (l linkRewriter) html(in io.Reader, out *bytes.Buffer) error {
	z := html.NewTokenizer(in)
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return nil
			}
			return z.Err()
		case html.StartTagToken, html.SelfClosingTagToken:
			raw := bytes.Clone(z.Raw()) // Token reuses the buffer
			tok := z.Token()
			if l.tag(&tok) {
				out.WriteString(tok.String())
				continue
			}
			out.Write(raw)
		default:
			out.Write(z.Raw())
		}
	}
}

// tag rewrites a tag's link attributes; it reports whether any changed.
func (l linkRewriter) tag(tok *html.Token) bool {
	names := linkAttrs[tok.DataAtom]
	changed := false
	for i, a := range tok.Attr {
		for _, name := range names {
			if a.Key == name {
				if v := l.rewrite(a.Val); v != a.Val {
					tok.Attr[i].Val, changed = v, true
				}
			}
		}
	}
	return changed
}
