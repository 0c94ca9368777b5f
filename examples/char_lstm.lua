-- A character-level language model: an LSTM learns to continue Shakespeare, one character at a time.
--
--   th examples/char_lstm.lua [options]
--
--   --steps=N         training steps (default 1000: 1-3 minutes on two cores)
--   --hidden=N        LSTM hidden size (default 128)
--   --seq-len=N       characters per training sequence (default 64)
--   --batch-size=N    sequences per step (default 32)
--   --lr=X            Adam's learning rate (default 0.003, decayed to a tenth by the end)
--   --clip=X          the gradient-norm limit (default 1)
--   --temperature=X   sampling temperature: lower is more conservative (default 0.7)
--   --length=N        characters to sample at the end (default 600)
--   --prime=TEXT      the text the samples start from (default "MARCIUS:")
--   --text=FILE       the training text (default examples/data/coriolanus.txt, the first act of Coriolanus)
--   --seed=N, --threads=N
--
-- The model is nn.Embedding -> nn.LSTM (batch_first) -> nn.Linear over the characters of the text, trained on
-- random windows of the text with Adam and gradient clipping (nn.utils.clip_grad_norm_); every few hundred steps
-- it reports the training and held-out loss and a short sample, and at the end it writes a longer one.
local ffi = require 'ffi'
local torch = require 'tensor'
local nn = require 'tensor.nn'
local optim = require 'tensor.optim'

io.stdout:setvbuf('line') -- progress shows up line by line even when the output goes to a file or a pipe

-- ---------------------------------------------------------------- options

local here = (arg and arg[0] or ''):match('^(.*)/[^/]*$') or '.'
local opts = { steps = 1000, hidden = 128, seq_len = 64, batch_size = 32, lr = 0.003, clip = 1, temperature = 0.7,
               length = 600, prime = 'MARCIUS:', text = here .. '/data/coriolanus.txt', seed = 1, threads = false }
for _, a in ipairs(arg or {}) do
  local key, value = a:match('^%-%-([%w-]+)=(.*)$')
  key = key and key:gsub('-', '_')
  if a == '-h' or a == '--help' then
    print('usage: th examples/char_lstm.lua [--steps=N] [--hidden=N] [--seq-len=N] [--batch-size=N] [--lr=X] '
          .. '[--clip=X] [--temperature=X] [--length=N] [--prime=TEXT] [--text=FILE] [--seed=N] [--threads=N]')
    os.exit(0)
  elseif not key or opts[key] == nil then
    io.stderr:write('char_lstm: unknown argument ', a, ' (try --help)\n')
    os.exit(2)
  elseif type(opts[key]) == 'string' then
    opts[key] = value
  else
    opts[key] = tonumber(value)
    if not opts[key] or opts[key] <= 0 then
      io.stderr:write('char_lstm: --', key:gsub('_', '-'), ' needs a positive number, got ', value, '\n')
      os.exit(2)
    end
  end
end
if opts.threads then torch.set_num_threads(opts.threads) end
torch.manual_seed(opts.seed)

ffi.cdef [[
typedef struct { long sec; long nsec; } char_lstm_timespec;
int char_lstm_clock_gettime(int clock, char_lstm_timespec *ts) __asm__("clock_gettime");
]]
local timespec = ffi.new('char_lstm_timespec')
local function now()
  ffi.C.char_lstm_clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.sec) + tonumber(timespec.nsec) * 1e-9
end

-- ---------------------------------------------------------------- the text

local text
do
  local f, err = io.open(opts.text, 'rb')
  if not f then
    io.stderr:write('char_lstm: cannot read the text: ', tostring(err), '\n')
    os.exit(1)
  end
  local lines = {}
  for line in f:lines() do
    if line:sub(1, 2) ~= '# ' then lines[#lines + 1] = line end
  end
  f:close()
  text = table.concat(lines, '\n') .. '\n'
end

-- The vocabulary: every distinct character, sorted; ids are 1-based (nn.Embedding's convention here).
local chars, id_of = {}, {}
for c in text:gmatch('.') do
  if not id_of[c] then
    id_of[c] = true
    chars[#chars + 1] = c
  end
end
table.sort(chars)
for i, c in ipairs(chars) do id_of[c] = i end
local vocab = #chars

local n = #text
local ids = torch.empty(n, { dtype = 'int64' })
do
  local p = ids:data_ptr()
  for i = 1, n do p[i - 1] = id_of[text:sub(i, i)] end
end
-- the last tenth is held out to measure how well the model generalises
local n_train = math.floor(n * 0.9)
local train_ids, valid_ids = ids:narrow(1, 1, n_train), ids:narrow(1, n_train + 1, n - n_train)
print(string.format('%s: %d characters (%d for training, %d held out), %d distinct', opts.text, n, n_train,
                    n - n_train, vocab))

-- A batch of `count` random windows of seq_len + 1 characters: inputs and the next characters as targets.
local T, B = opts.seq_len, opts.batch_size
local offsets = torch.arange(0, T + 1, { dtype = 'int64' })
local function batch(source, count)
  local starts = torch.randint(1, source:size(1) - T, { count, 1 })
  local windows = source:index_select(1, (starts + offsets):view(-1)):view(count, T + 1)
  return windows:narrow(2, 1, T), windows:narrow(2, 2, T)
end

-- ---------------------------------------------------------------- the model

local CharLSTM = nn.Module:extend('CharLSTM')
function CharLSTM:init(vocab_size, embed, hidden)
  self.embed = nn.Embedding(vocab_size, embed)
  self.lstm = nn.LSTM(embed, hidden, { batch_first = true })
  self.head = nn.Linear(hidden, vocab_size)
end
-- ids [N x L] -> scores [N x L x vocab] and the LSTM's final {h, c}
function CharLSTM:forward(x, state)
  local out, new_state = self.lstm(self.embed(x), state)
  return self.head(out), new_state
end

local model = CharLSTM(vocab, 64, opts.hidden)
print(model)
local count = 0
for _, p in ipairs(model:parameters()) do count = count + p:numel() end
print(string.format('%d parameters; %d steps of %d sequences of %d characters', count, opts.steps, B, T))

local criterion = nn.CrossEntropyLoss()
local optimizer = optim.Adam(model:parameters(), { lr = opts.lr })
local scheduler = optim.lr_scheduler.LambdaLR(optimizer, {
  lr_lambda = function(step) return 0.1 ^ (step / opts.steps) end })

-- The mean loss per character on `batches` held-out batches.
local function held_out_loss(batches)
  model:eval()
  local total = 0
  torch.no_grad(function()
    for _ = 1, batches do
      local x, y = batch(valid_ids, 64)
      total = total + criterion(model(x):reshape(-1, vocab), y:reshape(-1)):item()
    end
  end)
  model:train()
  return total / batches
end

-- ---------------------------------------------------------------- sampling

-- Continues `prime` by `length` characters, drawing each from softmax(scores / temperature).
local function sample(prime, length, temperature)
  model:eval()
  local out = { prime }
  torch.no_grad(function()
    local prime_ids = {}
    for i = 1, #prime do prime_ids[i] = id_of[prime:sub(i, i)] or id_of[' '] or 1 end
    local scores, state = model(torch.tensor({ prime_ids }, { dtype = 'int64' }))
    local last = scores[1][#prime_ids]
    local x = torch.empty(1, 1, { dtype = 'int64' })
    for _ = 1, length do
      local pick = torch.multinomial((last / temperature):softmax(1), 1)[1]
      out[#out + 1] = chars[pick]
      x:fill_(pick)
      scores, state = model(x, state)
      last = scores[1][1]
    end
  end)
  model:train()
  return table.concat(out)
end

-- ---------------------------------------------------------------- training

local params = model:parameters()
local start = now()
local report = math.max(1, math.floor(opts.steps / 5))
local running, in_running = 0, 0
print(string.format('before training: held-out loss %.3f (uniform guessing: %.3f)', held_out_loss(4),
                    math.log(vocab)))
for step = 1, opts.steps do
  local x, y = batch(train_ids, B)
  optimizer:zero_grad()
  local scores = model(x)
  local loss = criterion(scores:reshape(-1, vocab), y:reshape(-1))
  loss:backward()
  nn.utils.clip_grad_norm_(params, opts.clip)
  optimizer:step()
  scheduler:step()
  running, in_running = running + loss:item(), in_running + 1
  if step % report == 0 or step == opts.steps then
    local elapsed = now() - start
    print(string.format('step %5d/%d   loss %.3f   held-out %.3f   %.1f s (%.0f ms/step)', step, opts.steps,
                        running / in_running, held_out_loss(4), elapsed, 1000 * elapsed / step))
    running, in_running = 0, 0
    if step < opts.steps then print('  | ' .. sample(opts.prime, 80, opts.temperature):gsub('\n', '\n  | ')) end
  end
end
print(string.format('trained in %.1f s\n', now() - start))
print(string.format('---- a sample at temperature %g ----', opts.temperature))
print(sample(opts.prime, opts.length, opts.temperature))
