const { Webhook } = require("standardwebhooks");

function verifiedEvents(secret, headers, body) {
  const text = body.toString("utf8");
  try {
    // jsonParse: false: check the raw body only; an NDJSON body is not one JSON document.
    new Webhook(secret).verify(text, headers, { jsonParse: false });
  } catch (err) {
    return null; // refuse: answer 401
  }
  const type = String(headers["content-type"] || "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-ndjson") {
    return text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line));
  }
  return JSON.parse(text);
}

module.exports = { verifiedEvents };
