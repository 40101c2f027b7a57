"""Kafka for playpipe: client settings, topic provisioning, the local Apache Kafka runtime."""

from playpipe.kafka.settings import admin_config, consumer_config, producer_config
from playpipe.kafka.topics import TopicPlan, TopicSpec, apply_topics, desired_topics, topic_name

__all__ = [
    "TopicPlan",
    "TopicSpec",
    "admin_config",
    "apply_topics",
    "consumer_config",
    "desired_topics",
    "producer_config",
    "topic_name",
]
