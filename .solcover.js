// solidity-coverage: mocks are test scaffolding, not protocol code.
module.exports = {
  skipFiles: ["mocks/"],
  istanbulReporter: ["text", "json-summary", "html"],
};
