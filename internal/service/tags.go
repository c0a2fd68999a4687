package service

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

const maxTags = 50

// mergeTags adds or overwrites add's keys in cur, keeping cur's other keys,
// ordered by key.
func mergeTags(cur []store.Tag, add []appmesh.TagRef) []store.Tag {
	m := make(map[string]string, len(cur)+len(add))
	for _, t := range cur {
		m[t.Key] = t.Value
	}
	for _, t := range add {
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		m[*t.Key] = v
	}
	out := make([]store.Tag, 0, len(m))
	for k, v := range m {
		out = append(out, store.Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// tagged finds the resource an ARN names: in this server's region, owned
// by the ARN's account, in a mesh the caller may see.
func (s *Service) tagged(ctx context.Context, tx store.Tx, arn string) (store.Record, error) {
	key, region, account, err := store.ParseResource(arn)
	if err != nil || region == "" {
		return store.Record{}, appmesh.BadRequest("resourceArn %q is not a valid App Mesh ARN", arn)
	}
	notFound := appmesh.NotFound("resource %s is not present in region %s for account %s", arn, s.cfg.Region, account)
	if !strings.HasPrefix(arn, "arn:aws:") || region != s.cfg.Region {
		return store.Record{}, notFound
	}
	r, err := tx.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return r, notFound
	case err != nil:
		return r, err
	case r.ResourceOwner != account || s.visible(ctx, r.Mesh, &r.MeshOwner, r.MeshOwner) != nil:
		return store.Record{}, notFound
	}
	return r, nil
}

// taggable is tagged for TagResource and UntagResource: tags are the
// resource owner's to change.
func (s *Service) taggable(ctx context.Context, tx store.Tx, arn string) (store.Record, error) {
	r, err := s.tagged(ctx, tx, arn)
	if err != nil {
		return r, err
	}
	return r, s.mayUpdate(ctx, r)
}

// TagResource adds or overwrites tags; with more than 50 in all, none apply.
func (s *Service) TagResource(ctx context.Context, in *appmesh.TagResourceInput) (*appmesh.TagResourceOutput, error) {
	err := s.store.Write(ctx, func(tx store.Tx) error {
		r, err := s.taggable(ctx, tx, *in.ResourceArn)
		if err != nil {
			return err
		}
		cur, err := tx.Tags(ctx, r.UID)
		if err != nil {
			return err
		}
		next := mergeTags(cur, in.Tags)
		if len(next) > maxTags {
			return appmesh.TooManyTags("resource %s would have %d tags; at most %d are allowed", *in.ResourceArn, len(next), maxTags)
		}
		return tx.SetTags(ctx, r.UID, next)
	})
	return &appmesh.TagResourceOutput{}, s.storeError(ctx, "TagResource", err)
}

// UntagResource removes the given keys; absent keys are ignored.
func (s *Service) UntagResource(ctx context.Context, in *appmesh.UntagResourceInput) (*appmesh.UntagResourceOutput, error) {
	err := s.store.Write(ctx, func(tx store.Tx) error {
		r, err := s.taggable(ctx, tx, *in.ResourceArn)
		if err != nil {
			return err
		}
		cur, err := tx.Tags(ctx, r.UID)
		if err != nil {
			return err
		}
		drop := make(map[string]bool, len(in.TagKeys))
		for _, k := range in.TagKeys {
			drop[k] = true
		}
		next := cur[:0:0]
		for _, t := range cur {
			if !drop[t.Key] {
				next = append(next, t)
			}
		}
		if len(next) == len(cur) {
			return nil
		}
		return tx.SetTags(ctx, r.UID, next)
	})
	return &appmesh.UntagResourceOutput{}, s.storeError(ctx, "UntagResource", err)
}

// ListTagsForResource pages through a resource's tags in key order.
func (s *Service) ListTagsForResource(ctx context.Context, in *appmesh.ListTagsForResourceInput) (*appmesh.ListTagsForResourceOutput, error) {
	n, err := pageLimit(in.Limit, maxTags)
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken("tags/"+*in.ResourceArn, in.NextToken)
	if err != nil {
		return nil, err
	}
	var tags []store.Tag
	err = s.store.Read(ctx, func(tx store.Tx) error {
		r, err := s.tagged(ctx, tx, *in.ResourceArn)
		if err != nil {
			return err
		}
		tags, err = tx.Tags(ctx, r.UID)
		return err
	})
	if err != nil {
		return nil, s.storeError(ctx, "ListTagsForResource", err)
	}
	i := sort.Search(len(tags), func(i int) bool { return tags[i].Key > after })
	tags = tags[i:]
	out := &appmesh.ListTagsForResourceOutput{Tags: []appmesh.TagRef{}}
	if len(tags) > n {
		tags = tags[:n]
		out.NextToken = encodePageToken("tags/"+*in.ResourceArn, tags[n-1].Key)
	}
	for _, t := range tags {
		out.Tags = append(out.Tags, appmesh.TagRef{Key: new(t.Key), Value: new(t.Value)})
	}
	return out, nil
}
