const fs = require('fs');

module.exports = async () => {
  if (process.env.COPYFLOW_CDK_TEST_TMP) {
    fs.rmSync(process.env.COPYFLOW_CDK_TEST_TMP, { recursive: true, force: true });
  }
};
