package service

import (
	"encoding/base64"
	"encoding/json"

	"github.com/meshgate/meshgate/internal/appmesh"
)

// A page token names the list it belongs to and the last item returned, so
// a token from another list (or a forged one) is refused rather than
// silently giving the wrong page. Lists are ordered by name, which keeps a
// token valid while other items come and go.
type pageToken struct {
	List  string `json:"l"`
	After string `json:"a"`
}

func encodePageToken(list, after string) *string {
	b, _ := json.Marshal(pageToken{List: list, After: after})
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodePageToken(list string, tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(b, &pt)
	}
	if err != nil || pt.List != list || pt.After == "" {
		return "", appmesh.BadRequest("nextToken is not valid for this request")
	}
	return pt.After, nil
}

// pageLimit checks limit against [1, max] and defaults it to max.
func pageLimit(limit *int64, max int) (int, error) {
	if limit == nil {
		return max, nil
	}
	if *limit < 1 || *limit > int64(max) {
		return 0, appmesh.BadRequest("limit must be between 1 and %d, got %d", max, *limit)
	}
	return int(*limit), nil
}
