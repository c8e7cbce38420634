// CommonJS: require() of the ES module package (Node >= 20.19 loads ES modules through require).
const slotwise = require('slotwise');
console.log(JSON.stringify({ Executor: typeof slotwise.Executor, code: slotwise.ErrorCode.QueueFull }));
