-- tensor.shell.lineedit: reading the shell's input lines.
--
-- On a terminal, GNU readline (libreadline, the library Debian's lua-readline wraps) through the FFI: line
-- editing, history in ~/.th_history, tab completion. Its callback interface lets the shell wait in poll(),
-- where a Ctrl-C (a SIGINT counted by lib/shell_signal.c, see tensor.shell.interrupt) cancels the line being
-- typed. Without readline (or with TH_NO_READLINE=1, or TERM=dumb) lines are read plainly, and the shell
-- suggests installing libreadline or running under rlwrap. On a pipe, lines are read with no prompt.
--
-- read(prompt) returns the line, nil at end of input, or false when Ctrl-C cancelled the line.
local ffi = require 'ffi'
local sys = require 'tensor.shell.sys'

local M = {}


local readline_decls = [[
typedef void (*th_rl_vcpfunc_t)(char *line);
typedef char *(*th_rl_compentry_func_t)(const char *text, int state);
typedef char **(*th_rl_completion_func_t)(const char *text, int start, int end);
typedef struct th_hist_entry { char *line; char *timestamp; void *data; } th_hist_entry;

void rl_callback_handler_install(const char *prompt, th_rl_vcpfunc_t handler);
void rl_callback_read_char(void);
void rl_callback_handler_remove(void);
void rl_free_line_state(void);
void rl_redisplay(void);
char **rl_completion_matches(const char *text, th_rl_compentry_func_t generator);
int rl_variable_bind(const char *variable, const char *value);

extern char *rl_line_buffer;
extern int rl_point;
extern int rl_end;
extern const char *rl_readline_name;
extern int rl_catch_signals;
extern int rl_catch_sigwinch;
extern th_rl_completion_func_t rl_attempted_completion_function;
extern int rl_attempted_completion_over;
extern int rl_completion_append_character;
extern const char *rl_completer_word_break_characters;
extern const char *rl_completer_quote_characters;
extern void *rl_instream;

void using_history(void);
int read_history(const char *filename);
int append_history(int nelements, const char *filename);
int history_truncate_file(const char *filename, int nlines);
void add_history(const char *line);
th_hist_entry *history_get(int offset);
extern int history_length;
extern int history_base;
]]

local HISTORY_LINES = 1000
-- Completion works on words between these (so `x:ad` completes `ad` as a method of x) and treats a quoted
-- string as one word (module paths in require '...', file names in other strings).
local WORD_BREAKS = " \t\n\"\\'`@$><=;|&{(+-*/%^~#,)[]}.:?"
local QUOTES = "\"'"

local rl          -- the readline library, when in use
local keep = {}   -- C strings and callbacks that must outlive the calls that made them
local history_file
local completer   -- function(line_before_cursor, word) -> list of replacements for word, or 'files'
local interrupt   -- tensor.shell.interrupt (pending/clear)
local has_sigcleanup -- readline >= 7
local has_reset_size -- readline >= 6.3

local function load_readline()
  if os.getenv('TH_NO_READLINE') and os.getenv('TH_NO_READLINE') ~= '' then return nil, 'TH_NO_READLINE is set' end
  if os.getenv('TERM') == 'dumb' then return nil, 'TERM is dumb' end
  local ok, err = pcall(ffi.cdef, readline_decls)
  if not ok and not tostring(err):find('redefine') then return nil, err end
  local names = ffi.os == 'OSX' and { 'readline', 'libreadline.8.dylib' }
    or { 'libreadline.so.8', 'libreadline.so.7', 'readline' }
  for _, name in ipairs(names) do
    local loaded, lib = pcall(ffi.load, name)
    -- libedit answers to 'readline' on some systems but lacks the callback interface
    if loaded and pcall(function() return lib.rl_callback_read_char and lib.rl_free_line_state end) then
      return lib
    end
  end
  return nil, 'libreadline not found'
end

local function cstring(s)
  local buf = ffi.new('char[?]', #s + 1, s)
  keep[#keep + 1] = buf
  return buf
end

-- ---- completion callbacks (called by readline, inside rl_callback_read_char) ----

local matches, match_index = {}, 0

local generator = function(_, state)
  if state == 0 then match_index = 0 end
  match_index = match_index + 1
  local m = matches[match_index]
  if m == nil then return nil end
  return sys.strdup(m)
end

local attempted = function(text, start, finish)
  rl.rl_attempted_completion_over = 1
  rl.rl_completion_append_character = 0
  local ok, result = pcall(function()
    local line = ffi.string(rl.rl_line_buffer, rl.rl_end)
    return completer(line:sub(1, finish), ffi.string(text), start)
  end)
  if not ok or result == nil then return nil end
  if result == 'files' then
    rl.rl_attempted_completion_over = 0 -- readline's own file name completion
    rl.rl_completion_append_character = 0
    return nil
  end
  if #result == 0 then return nil end
  matches = result
  return rl.rl_completion_matches(text, keep.generator)
end

-- ---- setup ----

-- Sets the reader up. opts: history (file name or false), complete (the completer), interrupt (module).
-- Returns the mode: 'readline', 'plain' (a terminal without readline) or 'pipe', and a note for the user.
function M.init(opts)
  opts = opts or {}
  completer = opts.complete or function() return {} end
  interrupt = opts.interrupt
  M.tty = sys.isatty(0)
  if not M.tty then
    M.mode = 'pipe'
    return M.mode
  end
  local lib, why = load_readline()
  if not lib then
    M.mode = 'plain'
    return M.mode, 'no line editing (' .. tostring(why) .. '): install libreadline8 (Debian: lua-readline) ' ..
      'or run th under rlwrap'
  end
  rl = lib
  has_sigcleanup = pcall(ffi.cdef, 'void rl_callback_sigcleanup(void);') and
    pcall(function() return rl.rl_callback_sigcleanup end)
  has_reset_size = pcall(ffi.cdef, 'void rl_reset_screen_size(void);') and
    pcall(function() return rl.rl_reset_screen_size end)
  rl.rl_readline_name = cstring('th')
  rl.rl_catch_signals = 0
  rl.rl_completer_word_break_characters = cstring(WORD_BREAKS)
  rl.rl_completer_quote_characters = cstring(QUOTES)
  keep.generator = ffi.cast('th_rl_compentry_func_t', generator)
  keep.attempted = ffi.cast('th_rl_completion_func_t', attempted)
  rl.rl_attempted_completion_function = keep.attempted
  rl.using_history()
  if opts.history then
    history_file = opts.history
    local f = io.open(history_file, 'a') -- append_history needs the file to exist
    if f then
      f:close()
      rl.read_history(history_file)
    else
      history_file = nil
    end
  end
  M.mode = 'readline'
  return M.mode
end

local function last_history_line()
  if rl.history_length == 0 then return nil end
  local entry = rl.history_get(rl.history_base + rl.history_length - 1)
  return entry ~= nil and ffi.string(entry.line) or nil
end

-- Adds a line to the history (and appends it to the history file at once, so that a crash or a kill
-- loses nothing). Blank lines and repeats of the previous line are skipped.
function M.add_history(line)
  if not rl or not line:find('%S') or line == last_history_line() then return end
  rl.add_history(line)
  if history_file then rl.append_history(1, history_file) end
end

-- Trims the history file to its last HISTORY_LINES lines.
function M.close()
  if rl and history_file then rl.history_truncate_file(history_file, HISTORY_LINES) end
end

-- ---- reading ----

local line_done, line_value = false, nil
local on_line = function(line)
  line_done = true
  if line == nil then
    line_value = nil
  else
    line_value = ffi.string(line)
    sys.free(line)
  end
  rl.rl_callback_handler_remove()
end

local function read_readline(prompt)
  keep.on_line = keep.on_line or ffi.cast('th_rl_vcpfunc_t', on_line)
  io.stdout:flush()
  io.stderr:flush()
  line_done, line_value = false, nil
  if interrupt then interrupt.clear() end
  -- The terminal may have been resized since the last line (readline knows rl_instream only after its
  -- first initialisation).
  if has_reset_size and rl.rl_instream ~= nil then rl.rl_reset_screen_size() end
  rl.rl_callback_handler_install(prompt, keep.on_line)
  local fd = rl.rl_instream ~= nil and sys.fileno(rl.rl_instream) or 0
  while not line_done do
    local ready = sys.wait_readable(fd, 250)
    if interrupt and interrupt.pending() > 0 then
      -- Ctrl-C: drop the line being typed and start afresh on a new line.
      interrupt.clear()
      -- Leave the cancelled text on screen with ^C after it. (Removing the handler ends bracketed-paste
      -- mode with a carriage return, so the newline comes after that.)
      rl.rl_free_line_state()
      rl.rl_point = rl.rl_end
      rl.rl_redisplay()
      io.stdout:write('^C')
      io.stdout:flush()
      if has_sigcleanup then rl.rl_callback_sigcleanup() end
      rl.rl_callback_handler_remove()
      io.stdout:write('\n')
      io.stdout:flush()
      return false
    end
    if ready then rl.rl_callback_read_char() end
  end
  if line_value == nil then io.stdout:write('\n') end
  return line_value
end
-- readline calls back into Lua from rl_callback_read_char: the calling code must not be JIT-compiled.
jit.off(read_readline)

local function read_plain(prompt)
  io.stdout:write(prompt)
  io.stdout:flush()
  if interrupt then interrupt.clear() end
  -- Wait in poll() so that Ctrl-C (which the terminal answers by dropping the typed line) is seen.
  while true do
    local ready = sys.wait_readable(0, 250)
    if interrupt and interrupt.pending() > 0 then
      interrupt.clear()
      io.stdout:write('\n')
      return false
    end
    if ready then break end
  end
  local line = io.read('*l')
  if line == nil then io.stdout:write('\n') end
  return line
end

local function read_pipe()
  local line = io.read('*l')
  if line == nil and interrupt and interrupt.pending() > 0 then
    interrupt.clear()
    sys.clearerr_stdin()
    return false
  end
  return line
end

function M.read(prompt)
  if M.mode == 'readline' then return read_readline(prompt) end
  if M.mode == 'plain' then return read_plain(prompt) end
  return read_pipe()
end

return M
