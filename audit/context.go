package audit

import "context"

// actorKey is the context key of the acting principal.
type actorKey struct{}

// WithActor returns a context naming who acts (a user or token name):
// code that audits on behalf of a request (the API's authentication, the
// CLI) sets it once, and the store's audited writes read it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor WithActor set, if any.
func ActorFrom(ctx context.Context) (string, bool) {
	a, ok := ctx.Value(actorKey{}).(string)
	return a, ok && a != ""
}
