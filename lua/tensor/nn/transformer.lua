-- tensor.nn.transformer: MultiheadAttention, TransformerEncoderLayer and TransformerEncoder, with PyTorch's
-- parameter names (self_attn.in_proj_weight, ...), mask conventions and defaults.
local torch = require 'tensor'
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'
local init = require 'tensor.nn.initializers'

return function(nn)
  local Module = nn.Module

  --- nn.MultiheadAttention(embed_dim, num_heads, {dropout=0, bias=true, kdim=, vdim=, batch_first=false})
  -- Multi-head attention. m(query, key, value, {key_padding_mask=, attn_mask=, need_weights=true,
  -- average_attn_weights=true, is_causal=false}) returns the output and the attention weights (averaged over
  -- heads unless average_attn_weights=false; nil with need_weights=false). Masks follow PyTorch: in a bool
  -- mask, true marks a position that may NOT be attended; a float mask is added to the scores.
  -- key_padding_mask is [N x S]; attn_mask is [L x S] or [N*num_heads x L x S].
  local MHA = Module:extend('MultiheadAttention')
  nn.MultiheadAttention = MHA
  function MHA:init(embed_dim, num_heads, ...)
    local opts = common.options('MultiheadAttention',
                                { 'dropout', 'bias', 'add_bias_kv', 'add_zero_attn', 'kdim', 'vdim', 'batch_first' }, ...)
    common.positive_int('MultiheadAttention', 'embed_dim', embed_dim)
    common.positive_int('MultiheadAttention', 'num_heads', num_heads)
    if embed_dim % num_heads ~= 0 then
      error(string.format('MultiheadAttention: embed_dim (%d) must be divisible by num_heads (%d)', embed_dim, num_heads), 3)
    end
    if opts.add_bias_kv or opts.add_zero_attn then
      error('MultiheadAttention: add_bias_kv and add_zero_attn are not supported', 3)
    end
    self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim / num_heads
    self.kdim, self.vdim = opts.kdim or embed_dim, opts.vdim or embed_dim
    self.dropout, self.batch_first = opts.dropout or 0, opts.batch_first == true
    self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
    if self._qkv_same_embed_dim then
      self.in_proj_weight = common.parameter({ 3 * embed_dim, embed_dim }, opts)
    else
      self.q_proj_weight = common.parameter({ embed_dim, embed_dim }, opts)
      self.k_proj_weight = common.parameter({ embed_dim, self.kdim }, opts)
      self.v_proj_weight = common.parameter({ embed_dim, self.vdim }, opts)
    end
    if opts.bias ~= false then self.in_proj_bias = common.parameter({ 3 * embed_dim }, opts) end
    self.out_proj = nn.Linear(embed_dim, embed_dim, { bias = opts.bias ~= false, dtype = opts.dtype, device = opts.device })
    self:reset_parameters()
  end
  function MHA:reset_parameters()
    if self._qkv_same_embed_dim then
      init.xavier_uniform_(self.in_proj_weight)
    else
      init.xavier_uniform_(self.q_proj_weight)
      init.xavier_uniform_(self.k_proj_weight)
      init.xavier_uniform_(self.v_proj_weight)
    end
    if self.in_proj_bias ~= nil then
      init.zeros_(self.in_proj_bias)
      init.zeros_(self.out_proj.bias)
    end
  end

  -- The additive mask (0 or -inf, or the float values) for bool or float masks.
  local function additive(mask, dtype)
    if mask:dtype() == 'bool' then
      return torch.zeros(mask:shape(), { dtype = dtype, device = mask:device() }):masked_fill(mask, -math.huge)
    end
    return mask:to(dtype)
  end

  function MHA:forward(query, key, value, opts)
    opts = opts or {}
    local E, heads, hd = self.embed_dim, self.num_heads, self.head_dim
    local unbatched = query:dim() == 2
    if unbatched then
      query, key, value = query:unsqueeze(2), key:unsqueeze(2), value:unsqueeze(2)
    elseif self.batch_first then
      query, key, value = query:transpose(1, 2), key:transpose(1, 2), value:transpose(1, 2)
    end
    if query:dim() ~= 3 or query:size(3) ~= E then
      common.fail(self, 'expected a query [L x N x %d] (or [N x L x %d] with batch_first), got %s', E, E,
                  common.shape(query))
    end
    local L, N, S = query:size(1), query:size(2), key:size(1)
    if key:size(2) ~= N or value:size(2) ~= N or value:size(1) ~= S then
      common.fail(self, 'query, key and value disagree: %s, %s, %s', common.shape(query), common.shape(key),
                  common.shape(value))
    end
    -- projections
    local q, k, v
    local b = self.in_proj_bias
    local bq, bk, bv = b and b:narrow(1, 1, E), b and b:narrow(1, E + 1, E), b and b:narrow(1, 2 * E + 1, E)
    if self._qkv_same_embed_dim then
      local w = self.in_proj_weight
      q = F.linear(query, w:narrow(1, 1, E), bq)
      k = F.linear(key, w:narrow(1, E + 1, E), bk)
      v = F.linear(value, w:narrow(1, 2 * E + 1, E), bv)
    else
      q = F.linear(query, self.q_proj_weight, bq)
      k = F.linear(key, self.k_proj_weight, bk)
      v = F.linear(value, self.v_proj_weight, bv)
    end
    -- [L x N x E] -> [N x heads x L x hd]
    q = q:reshape(L, N * heads, hd):transpose(1, 2):reshape(N, heads, L, hd)
    k = k:reshape(S, N * heads, hd):transpose(1, 2):reshape(N, heads, S, hd)
    v = v:reshape(S, N * heads, hd):transpose(1, 2):reshape(N, heads, S, hd)
    local scores = q:matmul(k:transpose(-2, -1)) * (1 / math.sqrt(hd))
    local mask = opts.attn_mask
    if opts.is_causal and mask == nil then
      mask = torch.ones(L, S, { dtype = 'bool', device = query:device() }):triu(1)
    end
    if mask ~= nil then
      local m = additive(mask, scores:dtype())
      if m:dim() == 2 then
        if m:size(1) ~= L or m:size(2) ~= S then
          common.fail(self, 'attn_mask should be [%d x %d], got %s', L, S, common.shape(m))
        end
      elseif m:dim() == 3 then
        if m:size(1) ~= N * heads or m:size(2) ~= L or m:size(3) ~= S then
          common.fail(self, 'attn_mask should be [%d x %d x %d], got %s', N * heads, L, S, common.shape(m))
        end
        m = m:view(N, heads, L, S)
      else
        common.fail(self, 'attn_mask must be 2-d or 3-d, got %s', common.shape(m))
      end
      scores = scores + m
    end
    local kpm = opts.key_padding_mask
    if kpm ~= nil then
      if unbatched then kpm = kpm:unsqueeze(1) end
      if kpm:dim() ~= 2 or kpm:size(1) ~= N or kpm:size(2) ~= S then
        common.fail(self, 'key_padding_mask should be [%d x %d], got %s', N, S, common.shape(kpm))
      end
      scores = scores + additive(kpm, scores:dtype()):view(N, 1, 1, S)
    end
    local weights = F.softmax(scores, -1)
    local attended = weights
    if self.dropout > 0 and self.training then attended = F.dropout(weights, self.dropout, true) end
    local out = attended:matmul(v) -- [N x heads x L x hd]
    out = out:permute(3, 1, 2, 4):reshape(L * N, E)
    out = self.out_proj(out):view(L, N, E)
    if unbatched then out = out:squeeze(2) elseif self.batch_first then out = out:transpose(1, 2) end
    if opts.need_weights == false then return out, nil end
    local w = weights
    if opts.average_attn_weights ~= false then w = w:mean(2) end
    if unbatched then w = w:squeeze(1) end
    return out, w
  end
  function MHA:extra_repr()
    return string.format('embed_dim=%d, num_heads=%d', self.embed_dim, self.num_heads)
  end

  local ACTIVATIONS = { relu = 'relu', gelu = 'gelu' }

  --- nn.TransformerEncoderLayer(d_model, nhead, {dim_feedforward=2048, dropout=0.1, activation='relu',
  ---   layer_norm_eps=1e-5, batch_first=false, norm_first=false, bias=true})
  -- Self-attention and a feed-forward block, each with a residual connection and layer norm (after, or before
  -- with norm_first). m(src, {src_mask=, src_key_padding_mask=, is_causal=}).
  local Layer = Module:extend('TransformerEncoderLayer')
  nn.TransformerEncoderLayer = Layer
  function Layer:init(d_model, nhead, ...)
    local opts = common.options('TransformerEncoderLayer', { 'dim_feedforward', 'dropout', 'activation', 'layer_norm_eps',
                                                            'batch_first', 'norm_first', 'bias' }, ...)
    local ff, p = opts.dim_feedforward or 2048, opts.dropout or 0.1
    local eps = opts.layer_norm_eps or 1e-5
    local factory = { dtype = opts.dtype, device = opts.device, bias = opts.bias }
    self.self_attn = nn.MultiheadAttention(d_model, nhead, { dropout = p, bias = opts.bias, batch_first = opts.batch_first,
                                                              dtype = opts.dtype, device = opts.device })
    self.linear1 = nn.Linear(d_model, ff, factory)
    self.dropout = nn.Dropout(p)
    self.linear2 = nn.Linear(ff, d_model, factory)
    self.norm_first = opts.norm_first == true
    self.norm1 = nn.LayerNorm(d_model, { eps = eps, bias = opts.bias, dtype = opts.dtype, device = opts.device })
    self.norm2 = nn.LayerNorm(d_model, { eps = eps, bias = opts.bias, dtype = opts.dtype, device = opts.device })
    self.dropout1 = nn.Dropout(p)
    self.dropout2 = nn.Dropout(p)
    local activation = opts.activation or 'relu'
    if type(activation) == 'string' then
      if not ACTIVATIONS[activation] then
        error(string.format("TransformerEncoderLayer: activation must be 'relu', 'gelu' or a function, got %s", activation), 3)
      end
      self.activation_name = activation
    else
      self.activation_fn = activation
    end
  end
  function Layer:_activation(x)
    if self.activation_fn then return self.activation_fn(x) end
    return F[self.activation_name](x)
  end
  function Layer:_sa_block(x, mask, kpm, is_causal)
    local out = self.self_attn(x, x, x, { attn_mask = mask, key_padding_mask = kpm, need_weights = false,
                                          is_causal = is_causal })
    return self.dropout1(out)
  end
  function Layer:_ff_block(x)
    return self.dropout2(self.linear2(self.dropout(self:_activation(self.linear1(x)))))
  end
  function Layer:forward(src, opts)
    opts = opts or {}
    local x = src
    if self.norm_first then
      x = x + self:_sa_block(self.norm1(x), opts.src_mask, opts.src_key_padding_mask, opts.is_causal)
      x = x + self:_ff_block(self.norm2(x))
    else
      x = self.norm1(x + self:_sa_block(x, opts.src_mask, opts.src_key_padding_mask, opts.is_causal))
      x = self.norm2(x + self:_ff_block(x))
    end
    return x
  end

  --- nn.TransformerEncoder(encoder_layer, num_layers, {norm=}) -> module
  -- num_layers deep copies of encoder_layer applied in turn (layers.0, layers.1, ... in the state dict).
  local Encoder = Module:extend('TransformerEncoder')
  nn.TransformerEncoder = Encoder
  function Encoder:init(layer, num_layers, opts)
    local list = {}
    for i = 1, num_layers do list[i] = layer:clone() end
    self.layers = nn.ModuleList(list)
    self.num_layers = num_layers
    self.norm = opts and opts.norm or nil
  end
  function Encoder:forward(src, opts)
    local x = src
    for _, layer in self.layers:ipairs() do x = layer(x, opts) end
    if self.norm then x = self.norm(x) end
    return x
  end
end
