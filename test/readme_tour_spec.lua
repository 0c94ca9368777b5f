-- The README's tour can be pasted into th line by line: every ```lua block under the "Tour" heading is fed to
-- th on stdin, one line at a time as a user would paste it, and any error fails the spec.
local ROOT = io.popen('pwd'):read('*l')

local shell = require 'helpers.shell'
local quote, read = shell.quote, shell.read

-- The lua code blocks of the README section whose heading is "Tour" (up to the next heading of the same
-- or a higher level), in order; nil when there is no such section.
local function tour_blocks(readme)
  local blocks, level, in_code, code = {}, nil, false, nil
  for line in (readme .. '\n'):gmatch('([^\n]*)\n') do
    local hashes, title = line:match('^(#+)%s+(.-)%s*$')
    if hashes and not in_code then
      if level and #hashes <= level then break end
      if not level and title:match('^[Tt]our') then level = #hashes end
    elseif level then
      if not in_code and line:match('^```lua%s*$') then
        in_code, code = true, {}
      elseif in_code and line:match('^```%s*$') then
        in_code = false
        blocks[#blocks + 1] = table.concat(code, '\n')
      elseif in_code then
        code[#code + 1] = line
      end
    end
  end
  if not level then return nil end
  return blocks
end

describe('README tour', function()
  it('runs in th line by line without an error', function()
    local readme = assert(read(ROOT .. '/README.md'), 'README.md is missing')
    local blocks = tour_blocks(readme)
    assert(blocks, 'README.md has no "Tour" section (a heading starting with "Tour"): nothing to check')
    assert(#blocks > 0, 'the README\'s "Tour" section has no ```lua code blocks')
    local dir = io.popen('mktemp -d /tmp/readme_tour_spec.XXXXXX'):read('*l')
    local input = dir .. '/tour.lua'
    local f = assert(io.open(input, 'wb'))
    f:write(table.concat(blocks, '\n'), '\n')
    f:close()
    os.execute(string.format('%s < %s > %s 2> %s; echo $? > %s', quote(ROOT .. '/bin/th'), quote(input),
                             quote(dir .. '/out'), quote(dir .. '/err'), quote(dir .. '/rc')))
    local out, err, rc = read(dir .. '/out'), read(dir .. '/err'), tonumber(read(dir .. '/rc'))
    os.execute('rm -rf ' .. quote(dir))
    -- th fed from a pipe prints errors on stderr and exits with 1 when a command failed
    assert(err == '' and rc == 0, string.format('the tour failed in th (exit status %s):\n%s', tostring(rc), err))
    assert.is_true(#out > 0)
  end)
end)
