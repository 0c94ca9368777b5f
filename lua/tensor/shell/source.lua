-- tensor.shell.source: a small Lua lexer for the th shell, and what the shell does with it: turning the
-- top-level `local` statements of an input into global assignments (so that `local x = ...` typed at the
-- prompt survives to the next line, as a user pasting a script line by line expects), and finding what
-- the text before the cursor is in the middle of, for tab completion.
local M = {}

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat return then
            true until while]]):gmatch('%S+') do keywords[w] = true end
M.keywords = keywords

-- The end of a long bracket opened at position i ("[[", "[==["), or nil when src[i] opens none.
-- Returns level, content_start.
local function long_open(src, i)
  local eqs = src:match('^%[(=*)%[', i)
  if not eqs then return nil end
  return #eqs, i + #eqs + 2
end

-- Tokenises src. Returns a list of tokens {type=, value=, s=, e=}, type being 'name', 'keyword', 'number',
-- 'string', 'op' or 'comment'. An unterminated string or comment at the end gets `open = true` (and, for a
-- string, `quote` = the opening quote character and `body_start` = where its text starts).
function M.tokens(src)
  local list, i, n = {}, 1, #src
  local function add(t) list[#list + 1] = t; return t end
  while i <= n do
    local c = src:sub(i, i)
    if c:match('%s') then
      i = src:find('[^%s]', i) or n + 1
    elseif src:sub(i, i + 1) == '--' then
      local level, body = long_open(src, i + 2)
      if level then
        local close = src:find(']' .. string.rep('=', level) .. ']', body, true)
        add({ type = 'comment', s = i, e = close and close + level + 1 or n, open = not close })
        i = close and close + level + 2 or n + 1
      else
        local nl = src:find('\n', i, true)
        add({ type = 'comment', s = i, e = nl and nl - 1 or n })
        i = nl and nl + 1 or n + 1
      end
    elseif c:match('[%a_]') then
      local s, e = src:find('^[%w_]+', i)
      local word = src:sub(s, e)
      add({ type = keywords[word] and 'keyword' or 'name', value = word, s = s, e = e })
      i = e + 1
    elseif c:match('%d') or (c == '.' and src:sub(i + 1, i + 1):match('%d')) then
      local s, e = src:find('^0[xX][%x%.]*[pP]?[+-]?%x*', i)
      if not s then s, e = src:find('^[%d%.]*[eE][+-]?%d*', i) end
      if not s then s, e = src:find('^[%d%.]+', i) end
      local suffix = src:match('^[uUlLiI]+', e + 1) -- LuaJIT's 1LL, 1ULL, 1i
      if suffix then e = e + #suffix end
      add({ type = 'number', value = src:sub(s, e), s = s, e = e })
      i = e + 1
    elseif c == '"' or c == "'" then
      local j = i + 1
      local closed = false
      while j <= n do
        local d = src:sub(j, j)
        if d == '\\' then
          j = j + 2
        elseif d == c then
          closed = true
          break
        elseif d == '\n' then
          break
        else
          j = j + 1
        end
      end
      add({ type = 'string', s = i, e = math.min(j, n), open = not closed, quote = c, body_start = i + 1,
            value = src:sub(i + 1, math.min(j, n + 1) - 1) })
      i = j + 1
    elseif c == '[' and long_open(src, i) then
      local level, body = long_open(src, i)
      local close = src:find(']' .. string.rep('=', level) .. ']', body, true)
      add({ type = 'string', s = i, e = close and close + level + 1 or n, open = not close, quote = '[',
            body_start = body, value = src:sub(body, (close or n + 1) - 1) })
      i = close and close + level + 2 or n + 1
    else
      local op = src:match('^%.%.%.', i) or src:match('^%.%.', i) or src:match('^[=~<>]=', i)
        or src:match('^::', i) or c
      add({ type = 'op', value = op, s = i, e = i + #op - 1 })
      i = i + #op
    end
  end
  return list
end

-- Keywords that open a block closed by `end` (or `until` for repeat). `while` and `for` open theirs with `do`.
local opens = { ['function'] = true, ['do'] = true, ['if'] = true, ['repeat'] = true }
local closes = { ['end'] = true, ['until'] = true }

-- Rewrites the top-level `local` declarations of a chunk as global assignments:
--   local x, y = 1, 2   ->  x, y = 1, 2
--   local z             ->  z = nil
--   local function f()  ->  function f()
-- Locals inside functions and blocks are left alone. Returns the new text and whether anything changed.
function M.globalize_locals(src)
  local toks = {}
  for _, t in ipairs(M.tokens(src)) do
    if t.type ~= 'comment' then toks[#toks + 1] = t end
  end
  local edits = {} -- {s, e, replacement}, in order
  local depth = 0
  for k, t in ipairs(toks) do
    if t.type == 'keyword' then
      if t.value == 'local' and depth == 0 then
        local nxt = toks[k + 1]
        if nxt and nxt.type == 'keyword' and nxt.value == 'function' then
          edits[#edits + 1] = { t.s, nxt.s - 1, '' }
        elseif nxt and nxt.type == 'name' then
          local last = k + 1
          while toks[last + 1] and toks[last + 1].value == ',' and toks[last + 2] and toks[last + 2].type == 'name' do
            last = last + 2
          end
          edits[#edits + 1] = { t.s, nxt.s - 1, '' }
          local after = toks[last + 1]
          if not (after and after.type == 'op' and after.value == '=') then
            edits[#edits + 1] = { toks[last].e + 1, toks[last].e, ' = nil' }
          end
        end
      elseif opens[t.value] then
        depth = depth + 1
      elseif closes[t.value] then
        depth = depth - 1
      end
    end
  end
  if #edits == 0 then return src, false end
  local out, pos = {}, 1
  for _, ed in ipairs(edits) do
    out[#out + 1] = src:sub(pos, ed[1] - 1)
    out[#out + 1] = ed[3]
    pos = ed[2] + 1
  end
  out[#out + 1] = src:sub(pos)
  return table.concat(out), true
end

-- What the text before the cursor ends in, for completion. Returns one of
--   { kind = 'string', text = <the string's text so far>, require = <true inside require '...'> }
--   { kind = 'chain', path = {'torch', 'nn'}, sep = '.' or ':' or nil, partial = 'Lin' }
--   { kind = 'none' } (inside a comment, after a number, ...)
-- A chain is a run of names joined by '.' and ':' ending at the cursor: `x:ad` is path {'x'}, sep ':',
-- partial 'ad'; `tor` is path {}, partial 'tor'.
function M.context(before)
  local toks = M.tokens(before)
  local last = toks[#toks]
  if last and last.e >= #before then
    if last.type == 'comment' then
      if last.open or not before:sub(-1):match('\n') then return { kind = 'none' } end
    elseif last.type == 'string' and last.open then
      local p1, p2 = toks[#toks - 1], toks[#toks - 2]
      local is_require = (p1 and p1.value == 'require')
        or (p1 and p1.value == '(' and p2 and p2.value == 'require')
      return { kind = 'string', text = last.value, require = is_require or false }
    elseif last.type == 'number' or last.type == 'string' then
      return { kind = 'none' }
    end
  end
  -- Walk back over name (sep name)* [sep] [partial].
  local k = #toks
  local partial = ''
  if last and (last.type == 'name' or last.type == 'keyword') and last.e == #before then
    partial = last.value
    k = k - 1
  end
  local path, sep = {}, nil
  local tok = toks[k]
  if tok and tok.e == #before - #partial and tok.type == 'op' and (tok.value == '.' or tok.value == ':') then
    sep = tok.value
    k = k - 1
    while true do
      local name = toks[k]
      if not name or name.type ~= 'name' then return { kind = 'none' } end
      table.insert(path, 1, name.value)
      local s = toks[k - 1]
      if s and s.type == 'op' and s.value == '.' and s.e == name.s - 1 then
        k = k - 2
      else
        -- A chain after ')' or ']' would need evaluating an expression: no completion there.
        if s and s.e == name.s - 1 and (s.value == ')' or s.value == ']') then return { kind = 'none' } end
        break
      end
    end
  end
  return { kind = 'chain', path = path, sep = sep, partial = partial }
end

return M
