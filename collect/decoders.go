package collect

import (
	"github.com/acd-org/acd/collect/netflow"
	"github.com/acd-org/acd/collect/sflow"
	"github.com/acd-org/acd/flow"
)

// newDecoder builds the decoder of kind k with the configured settings.
func (c Config) newDecoder(k Kind, obs flow.Observer) flow.Decoder {
	if k == KindSFlow {
		return sflow.New(c.SFlow.Decoder, obs)
	}
	return netflow.New(c.NetFlow.Decoder, obs)
}
