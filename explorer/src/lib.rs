//! LianRong explorer: a web application for the bank's auditors over a node's API.
