-- tensor.optim: optimizers (optim.SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, LBFGS), learning-rate
-- schedulers (optim.lr_scheduler) and Torch7's functional forms (optim.sgd(feval, x, config, state), ...).
local algorithms = require 'tensor.optim.algorithms'
local functional = require 'tensor.optim.functional'

local optim = {
  Optimizer = require 'tensor.optim.optimizer',
  LBFGS = require 'tensor.optim.lbfgs',
  lr_scheduler = require 'tensor.optim.lr_scheduler',
}
for name, class in pairs(algorithms) do optim[name] = class end
for name, fn in pairs(functional) do optim[name] = fn end

return optim
